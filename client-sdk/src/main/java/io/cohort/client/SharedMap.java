package io.cohort.client;

import io.cohort.proto.v1.SharedCallResponse;
import io.cohort.proto.v1.SharedOp;
import java.io.Serial;
import java.io.Serializable;
import java.util.AbstractMap;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A map at the coordinator, like Python's {@code Manager().dict()}. Keys and values travel
 * encoded by the codec and stay opaque bytes there; values are copies (changing a value you
 * got changes nothing until you put it back).
 *
 * <p><b>Keys compare by their encoded form</b>, not by {@code equals}: that is equality for
 * strings, boxed numbers, enums and records of those, but not for keys whose encoding varies
 * between equal values (hash-based collections, objects with caches).
 *
 * <p>{@link #get}, {@link #put}, {@link #putIfAbsent}, {@link #remove(Object)},
 * {@link #containsKey}, {@link #size} and {@link #clear} are each atomic and linearizable.
 * {@link #entrySet()} (and so keySet, values, iteration, equals) is an atomic snapshot that
 * does not write back; {@code putAll} is one put per entry. Thread-safe; a serializable handle;
 * {@link #close()} deletes the map.
 */
public final class SharedMap<K, V> extends AbstractMap<K, V> implements Serializable, AutoCloseable {
    @Serial
    private static final long serialVersionUID = 1L;
    private final SharedRef ref;

    SharedMap(SharedRef ref) {
        this.ref = ref;
    }

    public String name() {
        return ref.name;
    }

    @SuppressWarnings("unchecked")
    private V previous(SharedCallResponse r) {
        return r.hasValue() ? (V) ref.decode(r.getValue()) : null;
    }

    private SharedCallResponse keyed(SharedOp op, Object key) {
        return ref.call(ref.request(op).setKey(ref.encode(key)));
    }

    private SharedCallResponse keyed(SharedOp op, Object key, Object value) {
        return ref.call(ref.request(op).setKey(ref.encode(key)).setValue(ref.encode(value)));
    }

    @Override
    public V get(Object key) {
        return previous(keyed(SharedOp.MAP_GET, key));
    }

    @Override
    public V put(K key, V value) {
        return previous(keyed(SharedOp.MAP_PUT, key, value));
    }

    @Override
    public V putIfAbsent(K key, V value) {
        return previous(keyed(SharedOp.MAP_PUT_IF_ABSENT, key, value));
    }

    @Override
    public V remove(Object key) {
        return previous(keyed(SharedOp.MAP_REMOVE, key));
    }

    @Override
    public boolean containsKey(Object key) {
        return keyed(SharedOp.MAP_CONTAINS_KEY, key).getFlag();
    }

    @Override
    public int size() {
        return (int) ref.call(SharedOp.SIZE).getLongValue();
    }

    @Override
    public void clear() {
        ref.call(SharedOp.CLEAR);
    }

    /** A snapshot of the entries, in insertion order; it does not write back. */
    @Override
    @SuppressWarnings("unchecked")
    public Set<Map.Entry<K, V>> entrySet() {
        SharedCallResponse r = ref.call(SharedOp.MAP_ENTRIES);
        Map<K, V> copy = new LinkedHashMap<>();
        for (int i = 0; i < r.getKeysCount(); i++) {
            copy.put((K) ref.decode(r.getKeys(i)), (V) ref.decode(r.getValues(i)));
        }
        return Collections.unmodifiableMap(copy).entrySet();
    }

    @Override
    public void close() {
        ref.delete();
    }

    // equals and hashCode stay Map's: by content.

    @Override
    public String toString() {
        return "SharedMap[" + ref + "]";
    }

}
