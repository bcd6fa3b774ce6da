package io.cohort.client;

import io.cohort.proto.v1.SharedCallRequest;
import io.cohort.proto.v1.SharedOp;
import java.io.Serial;

/**
 * A fixed-length {@code double[]} at the coordinator, like Python's
 * {@code multiprocessing.Array('d', n)}: each operation on
 * an element is atomic and linearizable; {@link #toArray()} is one atomic snapshot. An index
 * out of range throws IndexOutOfBoundsException. Thread-safe; a serializable handle;
 * {@link #close()} deletes it.
 */
public final class SharedDoubleArray extends SharedHandle {
    @Serial
    private static final long serialVersionUID = 1L;

    SharedDoubleArray(SharedRef ref) {
        super(ref);
    }

    public int length() {
        return (int) ref.size;
    }

    private SharedCallRequest.Builder at(SharedOp op, int i) {
        return ref.request(op).setIndex(i);
    }

    public double get(int i) {
        return ref.call(at(SharedOp.GET, i)).getDoubleValue();
    }

    public void set(int i, double value) {
        ref.call(at(SharedOp.SET, i).setDoubleArg(value));
    }

    public double addAndGet(int i, double delta) {
        return ref.call(at(SharedOp.ADD_AND_GET, i).setDoubleArg(delta)).getDoubleValue();
    }

    public double getAndAdd(int i, double delta) {
        return ref.call(at(SharedOp.GET_AND_ADD, i).setDoubleArg(delta)).getDoubleValue();
    }

    public boolean compareAndSet(int i, double expected, double newValue) {
        return ref.call(at(SharedOp.COMPARE_AND_SET, i).setDoubleArg(expected).setDoubleArg2(newValue)).getFlag();
    }

    /** {@link SharedDouble#updateAndGet} on element {@code i}. */
    public double updateAndGet(int i, RemoteFunction<Double, Double> update) {
        while (true) {
            double prev = get(i);
            double next = SharedRef.apply(update, prev);
            if (compareAndSet(i, prev, next)) {
                return next;
            }
        }
    }

    /** A copy of all elements, taken atomically. */
    public double[] toArray() {
        return ref.call(SharedOp.TO_ARRAY).getDoublesList().stream().mapToDouble(Double::doubleValue).toArray();
    }
}
