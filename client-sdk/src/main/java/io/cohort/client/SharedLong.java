package io.cohort.client;

import java.io.Serial;

/**
 * A {@code long} at the coordinator, like Python's {@code multiprocessing.Value('q')} and
 * Java's {@code AtomicLong}: every operation is atomic and linearizable. A small serializable
 * handle: capture it in a task and the task works on the same value. Thread-safe.
 * {@link #close()} deletes it; later use of any handle to it throws IllegalStateException.
 */
public final class SharedLong extends SharedHandle {
    @Serial
    private static final long serialVersionUID = 1L;
    /** The operations, on the one element. */
    private final SharedLongArray cell;

    SharedLong(SharedRef ref) {
        super(ref);
        cell = new SharedLongArray(ref);
    }

    public long get() {
        return cell.get(0);
    }

    public void set(long value) {
        cell.set(0, value);
    }

    public long addAndGet(long delta) {
        return cell.addAndGet(0, delta);
    }

    public long getAndAdd(long delta) {
        return cell.getAndAdd(0, delta);
    }

    public long incrementAndGet() {
        return addAndGet(1);
    }

    public long decrementAndGet() {
        return addAndGet(-1);
    }

    public boolean compareAndSet(long expected, long newValue) {
        return cell.compareAndSet(0, expected, newValue);
    }

    /**
     * Applies {@code update} here, at the caller, and stores the result if the value did not
     * change meanwhile, retrying otherwise (so it may run more than once); returns the new value.
     */
    public long updateAndGet(RemoteFunction<Long, Long> update) {
        return cell.updateAndGet(0, update);
    }
}
