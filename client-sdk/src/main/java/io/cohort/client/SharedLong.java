package io.cohort.client;

import io.cohort.proto.v1.SharedOp;
import java.io.Serial;
import java.io.Serializable;

/**
 * A {@code long} at the coordinator, like Python's {@code multiprocessing.Value('q')} and
 * Java's {@code AtomicLong}: every operation is atomic and linearizable. A small serializable
 * handle: capture it in a task and the task works on the same value. Thread-safe.
 * {@link #close()} deletes it; later use of any handle to it throws IllegalStateException.
 */
public final class SharedLong implements Serializable, AutoCloseable {
    @Serial
    private static final long serialVersionUID = 1L;
    private final SharedRef ref;

    SharedLong(SharedRef ref) {
        this.ref = ref;
    }

    public String name() {
        return ref.name;
    }

    public long get() {
        return ref.call(SharedOp.GET).getLongValue();
    }

    public void set(long value) {
        ref.call(ref.request(SharedOp.SET).setLongArg(value));
    }

    public long addAndGet(long delta) {
        return ref.call(ref.request(SharedOp.ADD_AND_GET).setLongArg(delta)).getLongValue();
    }

    public long getAndAdd(long delta) {
        return ref.call(ref.request(SharedOp.GET_AND_ADD).setLongArg(delta)).getLongValue();
    }

    public long incrementAndGet() {
        return addAndGet(1);
    }

    public long decrementAndGet() {
        return addAndGet(-1);
    }

    public boolean compareAndSet(long expected, long newValue) {
        return ref.call(ref.request(SharedOp.COMPARE_AND_SET).setLongArg(expected).setLongArg2(newValue)).getFlag();
    }

    /**
     * Applies {@code update} here, at the caller, and stores the result if the value did not
     * change meanwhile, retrying otherwise (so it may run more than once); returns the new value.
     */
    public long updateAndGet(RemoteFunction<Long, Long> update) {
        while (true) {
            long prev = get();
            long next = SharedRef.apply(update, prev);
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
        return o instanceof SharedLong s && s.ref.equals(ref);
    }

    @Override
    public int hashCode() {
        return ref.hashCode();
    }

    @Override
    public String toString() {
        return "SharedLong[" + ref + "]";
    }
}
