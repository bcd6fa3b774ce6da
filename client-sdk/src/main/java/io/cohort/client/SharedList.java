package io.cohort.client;

import io.cohort.proto.v1.SharedCallResponse;
import io.cohort.proto.v1.SharedOp;
import java.io.Serial;
import java.io.Serializable;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.ListIterator;

/**
 * A list at the coordinator, like Python's {@code Manager().list()}. Elements travel encoded by
 * the codec and stay opaque bytes there; they are copies (changing one you got changes nothing
 * until you set it back).
 *
 * <p>{@link #get}, {@link #set}, {@link #add(Object)}, {@link #add(int, Object)},
 * {@link #remove(int)}, {@link #remove(Object)} (which compares encoded forms), {@link #size}
 * and {@link #clear} are each atomic and linearizable. Iteration (and so contains, indexOf,
 * equals, toArray) works on an atomic snapshot and does not write back. Thread-safe; a
 * serializable handle; {@link #close()} deletes the list.
 */
public final class SharedList<T> extends AbstractList<T> implements Serializable, AutoCloseable {
    @Serial
    private static final long serialVersionUID = 1L;
    private final SharedRef ref;

    SharedList(SharedRef ref) {
        this.ref = ref;
    }

    public String name() {
        return ref.name;
    }

    @SuppressWarnings("unchecked")
    private T value(SharedCallResponse r) {
        return (T) ref.decode(r.getValue());
    }

    @Override
    public T get(int index) {
        return value(ref.call(ref.request(SharedOp.LIST_GET).setIndex(index)));
    }

    @Override
    public T set(int index, T element) {
        return value(ref.call(ref.request(SharedOp.LIST_SET).setIndex(index).setValue(ref.encode(element))));
    }

    @Override
    public boolean add(T element) {
        ref.call(ref.request(SharedOp.LIST_ADD).setValue(ref.encode(element)));
        return true;
    }

    @Override
    public void add(int index, T element) {
        ref.call(ref.request(SharedOp.LIST_INSERT).setIndex(index).setValue(ref.encode(element)));
    }

    @Override
    public T remove(int index) {
        return value(ref.call(ref.request(SharedOp.LIST_REMOVE_AT).setIndex(index)));
    }

    /** Removes the first element whose encoded form equals {@code o}'s. */
    @Override
    public boolean remove(Object o) {
        return ref.call(ref.request(SharedOp.LIST_REMOVE_VALUE).setValue(ref.encode(o))).getFlag();
    }

    @Override
    public int size() {
        return (int) ref.call(SharedOp.SIZE).getLongValue();
    }

    @Override
    public void clear() {
        ref.call(SharedOp.CLEAR);
    }

    /** An atomic snapshot of the elements. */
    @SuppressWarnings("unchecked")
    private List<T> snapshot() {
        SharedCallResponse r = ref.call(SharedOp.LIST_ALL);
        List<T> copy = new ArrayList<>(r.getValuesCount());
        for (int i = 0; i < r.getValuesCount(); i++) {
            copy.add((T) ref.decode(r.getValues(i)));
        }
        return Collections.unmodifiableList(copy);
    }

    @Override
    public Iterator<T> iterator() {
        return snapshot().iterator();
    }

    @Override
    public ListIterator<T> listIterator(int index) {
        return snapshot().listIterator(index);
    }

    @Override
    public Object[] toArray() {
        return snapshot().toArray();
    }

    @Override
    public void close() {
        ref.delete();
    }

    // equals and hashCode stay List's: by content.

    @Override
    public String toString() {
        return "SharedList[" + ref + "]";
    }
}
