package io.cohort.coordinator.shared;

/** Runs timeouts; injected so that tests fire them by hand. */
public interface Timers {
    /** Runs {@code task} after {@code millis}; the returned action cancels it. */
    Runnable after(long millis, Runnable task);
}
