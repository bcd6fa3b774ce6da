package io.cohort.coordinator.shared;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** {@link Timers} on one daemon thread; timeouts only queue answers, so one thread is plenty. */
public final class SharedTimers implements Timers, AutoCloseable {
    private final ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "cohort-shared-timers");
        t.setDaemon(true);
        return t;
    });

    public SharedTimers() {
        executor.setRemoveOnCancelPolicy(true);   // most waits end before their timeout
    }

    @Override
    public Runnable after(long millis, Runnable task) {
        var f = executor.schedule(task, Math.max(0, millis), TimeUnit.MILLISECONDS);
        return () -> f.cancel(false);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
