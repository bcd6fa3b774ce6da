package io.cohort.client;

import io.cohort.proto.v1.SharedCallResponse;
import io.cohort.proto.v1.SharedOp;
import java.io.Serial;
import java.time.Duration;

/**
 * A bounded FIFO queue at the coordinator, like Python's {@code Manager().Queue(maxsize)}.
 * Elements travel encoded by the codec; each put element is taken exactly once. A waiting
 * {@code put} or {@code take} holds no coordinator thread.
 *
 * <p>Interrupted while waiting, {@code put}, {@code take}, {@code offer(e, timeout)} and
 * {@code poll(timeout)} give up (an element taken for it is put back at the head), keep the
 * interrupt flag and throw {@link CohortException} caused by the {@code InterruptedException}.
 * Thread-safe; a serializable handle; {@link #close()} deletes the queue.
 */
public final class SharedQueue<T> extends SharedHandle {
    @Serial
    private static final long serialVersionUID = 1L;

    SharedQueue(SharedRef ref) {
        super(ref);
    }

    public int capacity() {
        return (int) ref.size;
    }

    /** Adds {@code element}, waiting while the queue is full. */
    public void put(T element) {
        offer(element, null);
    }

    /** Adds {@code element} if there is room within {@code timeout}; false if not. */
    public boolean offer(T element, Duration timeout) {
        return ref.await(ref.request(SharedOp.QUEUE_PUT).setValue(ref.encode(element)), timeout).getFlag();
    }

    /** Adds {@code element} if there is room now. */
    public boolean offer(T element) {
        return offer(element, Duration.ZERO);
    }

    /** Removes the head, waiting while the queue is empty. */
    public T take() {
        return poll(null);
    }

    /** Removes the head if one comes within {@code timeout}; null if not. */
    @SuppressWarnings("unchecked")
    public T poll(Duration timeout) {
        SharedCallResponse r = ref.await(ref.request(SharedOp.QUEUE_TAKE), timeout);
        return r.hasValue() ? (T) ref.decode(r.getValue()) : null;
    }

    /** Removes the head if there is one now; null if not. */
    public T poll() {
        return poll(Duration.ZERO);
    }

    public int size() {
        return (int) ref.call(SharedOp.SIZE).getLongValue();
    }

    public boolean isEmpty() {
        return size() == 0;
    }
}
