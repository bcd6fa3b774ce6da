package io.cohort.coordinator.core;

/** Placement timeout: how long workers were attached and none could ever run a lane or a process. */
final class UnfitClock {
    long waited;
    /** When last counted; -1 while not counting. */
    long seen = -1;

    /** Moves the clock to {@code now}; true once the wait has reached {@code limit}. */
    boolean expired(boolean noWorkers, boolean fitsSomewhere, long now, long limit) {
        if (noWorkers) {
            seen = -1;   // the clock pauses
            return false;
        }
        if (fitsSomewhere) {
            seen = -1;
            waited = 0;
            return false;
        }
        if (seen >= 0) {
            waited += now - seen;
        }
        seen = now;
        return waited >= limit;
    }
}
