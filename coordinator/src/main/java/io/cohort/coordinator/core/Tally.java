package io.cohort.coordinator.core;

/**
 * Counts of ended tasks for the status, and the rate they end at over the last minute, from a
 * ring of per-second counts (a status never scans tasks). Fed by the scheduler with its own
 * clock; not thread-safe, like the scheduler.
 */
final class Tally {
    private static final int WINDOW_SECONDS = 60;

    private final long[] endedPerSecond = new long[WINDOW_SECONDS];
    /** The second the ring's newest slot counts; older slots hold the seconds before it. */
    private long newestSecond;
    private long completed;
    private long failed;
    private long retried;

    /** A task ended in state {@code s} at {@code nowMillis}. */
    void ended(TaskState s, long nowMillis) {
        completed++;
        if (s == TaskState.FAILED || s == TaskState.TIMED_OUT || s == TaskState.WORKER_LOST) {
            failed++;
        }
        advanceTo(nowMillis);
        endedPerSecond[(int) Math.floorMod(newestSecond, WINDOW_SECONDS)]++;
    }

    /** A task went back to the queue after its worker was lost while running it. */
    void addRetry() {
        retried++;
    }

    long completed() {
        return completed;
    }

    long failed() {
        return failed;
    }

    long retried() {
        return retried;
    }

    /** Tasks ended in the last 60 seconds up to {@code nowMillis}, per second. */
    double perSecond(long nowMillis) {
        advanceTo(nowMillis);
        long sum = 0;
        for (long n : endedPerSecond) {
            sum += n;
        }
        return (double) sum / WINDOW_SECONDS;
    }

    /** Clears the slots of the seconds that passed since the newest one (a clock never goes back here). */
    private void advanceTo(long nowMillis) {
        long second = Math.floorDiv(nowMillis, 1000);
        long gap = second - newestSecond;
        if (gap <= 0) {
            return;
        }
        for (long s = 1; s <= Math.min(gap, WINDOW_SECONDS); s++) {
            endedPerSecond[(int) Math.floorMod(newestSecond + s, WINDOW_SECONDS)] = 0;
        }
        newestSecond = second;
    }
}
