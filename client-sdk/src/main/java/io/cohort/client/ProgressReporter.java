package io.cohort.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Hands a {@link ProgressTracker}'s snapshots to a consumer on an executor: on a change, at
 * most once per {@code minInterval}, and once more when the work ends (always last). One
 * delivery at a time, each taking the snapshot when it runs, so the consumer never sees an
 * older state after a newer one and a burst of changes costs one delivery.
 *
 * <p>Thread-safe; {@link #changed} and {@link #ended} are called from completing threads and
 * only update a few fields under this object's lock, then hand off (never calling the consumer
 * on the caller's thread, unless the executor itself runs tasks inline).
 */
final class ProgressReporter implements ProgressTracker.Listener {
    /** Runs a task after a delay (in production the JDK's shared delayer, then the executor). */
    interface Delayer {
        void schedule(Runnable task, long delayNanos);
    }

    private static final System.Logger LOG = System.getLogger(ProgressReporter.class.getName());

    private final Consumer<? super Progress> consumer;
    private final Executor executor;
    private final Delayer delayer;
    private final LongSupplier clock;
    private final long minIntervalNanos;
    private volatile ProgressTracker tracker;
    // guarded by this
    private boolean queued;      // a delivery is handed off and has not started
    private boolean running;     // the consumer is being called
    private boolean dirty;       // changed since the last delivery started
    private boolean ending;      // the work has ended: the next delivery is the last
    private boolean over;        // the last delivery has started
    private long lastNanos;
    private boolean delivered;   // at least one delivery has started

    ProgressReporter(Consumer<? super Progress> consumer, Executor executor, Delayer delayer, LongSupplier clock,
                     long minIntervalNanos) {
        this.consumer = consumer;
        this.executor = executor;
        this.delayer = delayer;
        this.clock = clock;
        this.minIntervalNanos = minIntervalNanos;
    }

    /** On {@code executor}, with the JDK's shared delayer for the pauses between deliveries. */
    static ProgressReporter on(Executor executor, Consumer<? super Progress> consumer, long minIntervalNanos) {
        Delayer delayer = (task, nanos) -> CompletableFuture.delayedExecutor(nanos, TimeUnit.NANOSECONDS, executor)
                .execute(task);
        return new ProgressReporter(consumer, executor, delayer, System::nanoTime, minIntervalNanos);
    }

    /** The tracker whose snapshots are delivered; set once, before it reports a change. */
    void watch(ProgressTracker watched) {
        this.tracker = watched;
    }

    @Override
    public void changed() {
        long delay;
        synchronized (this) {
            dirty = true;
            if (queued || running || ending || over) {
                return;   // the delivery queued or running (or the last one) will show it
            }
            queued = true;
            delay = delivered ? lastNanos + minIntervalNanos - clock.getAsLong() : 0;
        }
        dispatch(delay);
    }

    @Override
    public void ended() {
        synchronized (this) {
            if (ending || over) {
                return;
            }
            ending = true;
            if (queued || running) {
                return;   // it goes next, at once
            }
            queued = true;
        }
        dispatch(0);
    }

    private void dispatch(long delayNanos) {
        try {
            if (delayNanos > 0) {
                delayer.schedule(this::deliver, delayNanos);
            } else {
                executor.execute(this::deliver);
            }
        } catch (RejectedExecutionException e) {
            synchronized (this) {
                queued = false;   // the executor is shut down: nothing more to report to
            }
        }
    }

    private void deliver() {
        boolean last;
        synchronized (this) {
            if (over) {
                return;
            }
            queued = false;
            running = true;
            dirty = false;
            last = ending;
            over = last;
            delivered = true;
            lastNanos = clock.getAsLong();
        }
        try {
            consumer.accept(tracker.snapshot());
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.WARNING, "a progress callback threw", e);
        }
        long delay;
        synchronized (this) {
            running = false;
            if (last || !(ending || dirty)) {
                return;
            }
            queued = true;
            delay = ending ? 0 : lastNanos + minIntervalNanos - clock.getAsLong();
        }
        dispatch(delay);
    }
}
