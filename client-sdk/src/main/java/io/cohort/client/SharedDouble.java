package io.cohort.client;

import io.cohort.proto.v1.SharedOp;
import java.io.Serial;
import java.io.Serializable;

/**
 * A {@code double} at the coordinator, like Python's {@code multiprocessing.Value('d')}; compareAndSet
 * compares raw bits (like Guava's AtomicDouble). Every operation is atomic and linearizable. A small serializable
 * handle: capture it in a task and the task works on the same value. Thread-safe.
 * {@link #close()} deletes it; later use of any handle to it throws IllegalStateException.
 */
public final class SharedDouble implements Serializable, AutoCloseable {
    @Serial
    private static final long serialVersionUID = 1L;
    private final SharedRef ref;

    SharedDouble(SharedRef ref) {
        this.ref = ref;
    }

    public String name() {
        return ref.name;
    }

    public double get() {
        return ref.call(SharedOp.GET).getDoubleValue();
    }

    public void set(double value) {
        ref.call(ref.request(SharedOp.SET).setDoubleArg(value));
    }

    public double addAndGet(double delta) {
        return ref.call(ref.request(SharedOp.ADD_AND_GET).setDoubleArg(delta)).getDoubleValue();
    }

    public double getAndAdd(double delta) {
        return ref.call(ref.request(SharedOp.GET_AND_ADD).setDoubleArg(delta)).getDoubleValue();
    }

    public boolean compareAndSet(double expected, double newValue) {
        return ref.call(ref.request(SharedOp.COMPARE_AND_SET).setDoubleArg(expected).setDoubleArg2(newValue)).getFlag();
    }

    /**
     * Applies {@code update} here, at the caller, and stores the result if the value did not
     * change meanwhile, retrying otherwise (so it may run more than once); returns the new value.
     */
    public double updateAndGet(RemoteFunction<Double, Double> update) {
        while (true) {
            double prev = get();
            double next = SharedRef.apply(update, prev);
            if (compareAndSet(prev, next)) {
                return next;
            }
        }
    }

    /** Deletes the value at the coordinator. */
    @Override
    public void close() {
        ref.delete();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SharedDouble s && s.ref.equals(ref);
    }

    @Override
    public int hashCode() {
        return ref.hashCode();
    }

    @Override
    public String toString() {
        return "SharedDouble[" + ref + "]";
    }
}
