package io.cohort.client;

import io.cohort.proto.v1.SharedOp;
import java.io.Serial;
import java.time.Duration;

/**
 * A flag at the coordinator that callers can wait for, like Python's {@code Manager().Event()}.
 * A waiting {@code await} holds no coordinator thread; interrupted, it keeps the interrupt flag
 * and throws {@link CohortException} caused by the {@code InterruptedException}. Thread-safe; a
 * serializable handle; {@link #close()} deletes the event.
 */
public final class SharedEvent extends SharedHandle {
    @Serial
    private static final long serialVersionUID = 1L;

    SharedEvent(SharedRef ref) {
        super(ref);
    }

    /** Sets the flag and wakes every waiter. */
    public void set() {
        ref.call(SharedOp.EVENT_SET);
    }

    public void clear() {
        ref.call(SharedOp.EVENT_CLEAR);
    }

    public boolean isSet() {
        return ref.call(SharedOp.EVENT_IS_SET).getFlag();
    }

    /** Waits until the flag is set. */
    public void await() {
        await(null);
    }

    /** Waits at most {@code timeout} for the flag; true if it is set. */
    public boolean await(Duration timeout) {
        return ref.await(ref.request(SharedOp.EVENT_WAIT), timeout).getFlag();
    }
}
