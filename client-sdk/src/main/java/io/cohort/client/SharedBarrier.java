package io.cohort.client;

import io.cohort.proto.v1.SharedOp;
import java.io.Serial;
import java.time.Duration;

/**
 * A barrier at the coordinator for a fixed number of parties, like Python's
 * {@code Manager().Barrier(n)}: it trips when the last party arrives and is reusable after.
 *
 * <p>{@link #await(Duration)} returns the arrival index (0 for the first, parties - 1 for the
 * one that trips it). A wait that times out throws {@link CohortTimeoutException} and breaks
 * the barrier; so does a waiter interrupted (it throws {@link CohortException} caused by the
 * {@code InterruptedException}). While broken, current waiters and later awaits throw
 * {@link CohortException} until {@link #reset()}. Thread-safe; a serializable handle;
 * {@link #close()} deletes the barrier.
 */
public final class SharedBarrier extends SharedHandle {
    @Serial
    private static final long serialVersionUID = 1L;

    SharedBarrier(SharedRef ref) {
        super(ref);
    }

    public int parties() {
        return (int) ref.size;
    }

    /** Waits for the other parties without a time limit; returns the arrival index. */
    public int await() {
        return await(null);
    }

    /** Waits at most {@code timeout} for the other parties; returns the arrival index. */
    public int await(Duration timeout) {
        return (int) ref.await(ref.request(SharedOp.BARRIER_AWAIT), timeout).getLongValue();
    }

    /** Back to its initial state: current waiters fail as broken, and it is no longer broken. */
    public void reset() {
        ref.call(SharedOp.BARRIER_RESET);
    }

    public boolean isBroken() {
        return ref.call(SharedOp.BARRIER_BROKEN).getFlag();
    }
}
