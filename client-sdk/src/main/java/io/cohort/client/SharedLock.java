package io.cohort.client;

import io.cohort.proto.v1.SharedOp;
import java.io.Serial;
import java.time.Duration;

/**
 * A mutual-exclusion lock at the coordinator, like Python's {@code Manager().Lock()}: not
 * reentrant (a holder that locks again waits for itself).
 *
 * <p>The holder is the task attempt that took it (on whichever worker), or, in a client JVM,
 * the thread that took it. The coordinator releases it when the holding task ends in any way
 * (its result reaches the coordinator), when the holder's worker is lost, or when the holding
 * client's session ends. A waiting {@code lock} holds no coordinator thread; interrupted, it
 * gives up (a lock granted meanwhile is released), keeps the interrupt flag and throws
 * {@link CohortException} caused by the {@code InterruptedException}.
 *
 * <p>Thread-safe; a serializable handle; {@link #close()} deletes the lock.
 */
public final class SharedLock extends SharedHandle {
    @Serial
    private static final long serialVersionUID = 1L;

    SharedLock(SharedRef ref) {
        super(ref);
    }

    /** Takes the lock, waiting as long as it takes. */
    public void lock() {
        tryLock(null);
    }

    /** Takes the lock if it is free now. */
    public boolean tryLock() {
        return tryLock(Duration.ZERO);
    }

    /** Takes the lock if it comes free within {@code timeout}; false if not. */
    public boolean tryLock(Duration timeout) {
        return ref.await(ref.request(SharedOp.LOCK), timeout).getFlag();
    }

    /** Releases the lock; by a caller that does not hold it, throws IllegalMonitorStateException. */
    public void unlock() {
        ref.call(SharedOp.UNLOCK);
    }
}
