package io.cohort.client;

import java.io.Serial;
import java.io.Serializable;

/** What the shared-object handles that are not collections have in common. */
abstract class SharedHandle implements Serializable, AutoCloseable {
    @Serial
    private static final long serialVersionUID = 1L;
    final SharedRef ref;

    SharedHandle(SharedRef ref) {
        this.ref = ref;
    }

    /** The name it was created with in its session. */
    public String name() {
        return ref.name;
    }

    /** Deletes the object at the coordinator; later use of any handle to it throws IllegalStateException. */
    @Override
    public void close() {
        ref.delete();
    }

    /** Handles are equal when they are of the same object. */
    @Override
    public boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && ((SharedHandle) o).ref.equals(ref);
    }

    @Override
    public int hashCode() {
        return ref.hashCode();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + ref + "]";
    }
}
