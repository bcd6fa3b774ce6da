package io.cohort.client;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The client's bound on tasks in flight: their number ({@code ClientConfig.maxInFlight}, or the
 * coordinator's lower limit) and their encoded bytes (the coordinator's budget per client). At
 * the bound, submit waits for room or is refused, as configured. Thread-safe.
 */
final class InFlightLimit {
    private final int maxTasks;
    private final long maxBytes;
    private final boolean blockWhenFull;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition room = lock.newCondition();
    private int tasks;
    private long bytes;

    /** {@code maxBytes}: Long.MAX_VALUE for no bound on bytes. */
    InFlightLimit(int maxTasks, long maxBytes, boolean blockWhenFull) {
        this.maxTasks = maxTasks;
        this.maxBytes = maxBytes;
        this.blockWhenFull = blockWhenFull;
    }

    /**
     * Takes room for one task of {@code size} encoded bytes: waits for it, or throws
     * RejectedExecutionException when it may not wait or could never fit.
     */
    void take(long size) {
        if (size > maxBytes) {
            throw new RejectedExecutionException("a task of " + size + " encoded bytes is larger than the coordinator's"
                    + " budget of " + maxBytes + " bytes per client (its --max-task-bytes-per-client); arguments over "
                    + io.cohort.common.Protocol.CHUNK_ABOVE_BYTES + " bytes travel in chunks outside it");
        }
        lock.lock();
        try {
            while (tasks >= maxTasks || bytes + size > maxBytes) {
                if (!blockWhenFull) {
                    throw new RejectedExecutionException(tasks >= maxTasks
                            ? "the limit of tasks in flight (" + maxTasks + ": ClientConfig.maxInFlight or the"
                                    + " coordinator's --max-tasks-per-client) is reached: wait for some to finish, or raise it"
                            : "the coordinator's budget of " + maxBytes + " bytes of tasks in flight per client"
                                    + " (its --max-task-bytes-per-client) is reached: wait for some to finish");
                }
                room.await();
            }
            tasks++;
            bytes += size;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CohortException("interrupted while waiting for room under the limit of tasks in flight", e);
        } finally {
            lock.unlock();
        }
    }

    /** Gives back room for {@code count} tasks of {@code size} encoded bytes in all. */
    void release(int count, long size) {
        if (count <= 0) {
            return;
        }
        lock.lock();
        try {
            tasks -= count;
            bytes -= size;
            room.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
