package io.cohort.client;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;

/**
 * The client's bound on tasks in flight ({@code ClientConfig.maxInFlight}): at the bound,
 * submit waits for room or is refused, as configured. Thread-safe.
 */
final class InFlightLimit {
    private final Semaphore room;
    private final boolean blockWhenFull;

    InFlightLimit(int max, boolean blockWhenFull) {
        this.room = new Semaphore(max);
        this.blockWhenFull = blockWhenFull;
    }

    /** Takes room for one task: waits for it, or throws RejectedExecutionException when it may not wait. */
    void take() {
        if (room.tryAcquire()) {
            return;
        }
        if (!blockWhenFull) {
            throw new RejectedExecutionException("the client's limit of tasks in flight "
                    + "(ClientConfig.maxInFlight) is reached: wait for some to finish, or raise the limit");
        }
        try {
            room.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CohortException("interrupted while waiting for room under the limit of tasks in flight", e);
        }
    }

    /** Gives back room for {@code count} tasks. */
    void release(int count) {
        if (count > 0) {
            room.release(count);
        }
    }
}
