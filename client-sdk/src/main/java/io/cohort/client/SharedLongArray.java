package io.cohort.client;

import io.cohort.proto.v1.SharedCallRequest;
import io.cohort.proto.v1.SharedOp;
import java.io.Serial;

/**
 * A fixed-length {@code long[]} at the coordinator, like Python's
 * {@code multiprocessing.Array('q', n)} and Java's {@code AtomicLongArray}: each operation on
 * an element is atomic and linearizable; {@link #toArray()} is one atomic snapshot. An index
 * out of range throws IndexOutOfBoundsException. Thread-safe; a serializable handle;
 * {@link #close()} deletes it.
 */
public final class SharedLongArray extends SharedHandle {
    @Serial
    private static final long serialVersionUID = 1L;

    SharedLongArray(SharedRef ref) {
        super(ref);
    }

    public int length() {
        return (int) ref.size;
    }

    private SharedCallRequest.Builder at(SharedOp op, int i) {
        return ref.request(op).setIndex(i);
    }

    public long get(int i) {
        return ref.call(at(SharedOp.GET, i)).getLongValue();
    }

    public void set(int i, long value) {
        ref.call(at(SharedOp.SET, i).setLongArg(value));
    }

    public long addAndGet(int i, long delta) {
        return ref.call(at(SharedOp.ADD_AND_GET, i).setLongArg(delta)).getLongValue();
    }

    public long getAndAdd(int i, long delta) {
        return ref.call(at(SharedOp.GET_AND_ADD, i).setLongArg(delta)).getLongValue();
    }

    public boolean compareAndSet(int i, long expected, long newValue) {
        return ref.call(at(SharedOp.COMPARE_AND_SET, i).setLongArg(expected).setLongArg2(newValue)).getFlag();
    }

    /** {@link SharedLong#updateAndGet} on element {@code i}. */
    public long updateAndGet(int i, RemoteFunction<Long, Long> update) {
        while (true) {
            long prev = get(i);
            long next = SharedRef.apply(update, prev);
            if (compareAndSet(i, prev, next)) {
                return next;
            }
        }
    }

    /** A copy of all elements, taken atomically. */
    public long[] toArray() {
        return ref.call(SharedOp.TO_ARRAY).getLongsList().stream().mapToLong(Long::longValue).toArray();
    }
}
