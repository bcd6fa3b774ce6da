package io.cohort.client;

import java.io.Serial;

/**
 * A {@code double} at the coordinator, like Python's {@code multiprocessing.Value('d')}: every
 * operation is atomic and linearizable; compareAndSet compares raw bits (like Guava's
 * AtomicDouble). A small serializable handle: capture it in a task and the task works on the
 * same value. Thread-safe. {@link #close()} deletes it; later use of any handle to it throws
 * IllegalStateException.
 */
public final class SharedDouble extends SharedHandle {
    @Serial
    private static final long serialVersionUID = 1L;
    /** The operations, on the one element. */
    private final SharedDoubleArray cell;

    SharedDouble(SharedRef ref) {
        super(ref);
        cell = new SharedDoubleArray(ref);
    }

    public double get() {
        return cell.get(0);
    }

    public void set(double value) {
        cell.set(0, value);
    }

    public double addAndGet(double delta) {
        return cell.addAndGet(0, delta);
    }

    public double getAndAdd(double delta) {
        return cell.getAndAdd(0, delta);
    }

    public boolean compareAndSet(double expected, double newValue) {
        return cell.compareAndSet(0, expected, newValue);
    }

    /** {@link SharedLong#updateAndGet}, for a double. */
    public double updateAndGet(RemoteFunction<Double, Double> update) {
        return cell.updateAndGet(0, update);
    }
}
