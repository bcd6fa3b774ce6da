package io.cohort.coordinator.watch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a {@link ClusterView} on its own thread: polls the recorder five times a second, and
 * once a second takes the rates' next point and renders the snapshot the page's event stream
 * sends. Thread-safe.
 */
public final class Watch implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Watch.class.getName());
    static final long POLL_MS = 200;

    private final ClusterView view;
    private final ScheduledExecutorService thread;
    private final ObjectMapper json = new ObjectMapper();
    private final Object published = new Object();
    private final ScheduledFuture<?> polls;
    private final ScheduledFuture<?> seconds;
    // Guarded by published.
    private String snapshot = "{}";
    private long version;

    /** {@code thread}: one thread, this watch's own (it is shut down by {@link #close}). */
    public Watch(Recorder recorder, Samples samples, java.util.function.LongSupplier nanoClock, long wallMillisNow,
                 ScheduledExecutorService thread) {
        this.view = new ClusterView(recorder, samples, nanoClock, wallMillisNow);
        this.thread = thread;
        this.polls = thread.scheduleWithFixedDelay(guarded(view::poll), POLL_MS, POLL_MS, TimeUnit.MILLISECONDS);
        this.seconds = thread.scheduleAtFixedRate(guarded(this::second), 1, 1, TimeUnit.SECONDS);
    }

    /** A failure here must not stop the next run (a scheduled task that throws is never run again). */
    private static Runnable guarded(Runnable r) {
        return () -> {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "the dashboard's view failed a step", e);
            }
        };
    }

    private void second() {
        view.poll();
        view.second();
        String rendered;
        try {
            rendered = json.writeValueAsString(view.snapshot());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("snapshot not rendered", e);
        }
        synchronized (published) {
            snapshot = rendered;
            version++;
            published.notifyAll();
        }
    }

    ClusterView view() {
        return view;
    }

    /** The latest snapshot (JSON) newer than {@code seen}, waiting at most {@code waitMillis}; null if none came. */
    String next(long seen, long waitMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        synchronized (published) {
            while (version <= seen) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return null;
                }
                published.wait(left);
            }
            return snapshot;
        }
    }

    /** The version of {@link #latest}. */
    long version() {
        synchronized (published) {
            return version;
        }
    }

    String latest() {
        synchronized (published) {
            return snapshot;
        }
    }

    /** One recent task's history as JSON, asked of the view's thread; null when it is not kept. */
    String history(long taskKey) throws InterruptedException {
        try {
            Map<String, Object> story = thread.submit(() -> {
                List<Map<String, Object>> hops = view.history(taskKey);
                return hops == null ? null : Map.<String, Object>of("task", taskKey, "session", view.sessionOf(taskKey),
                        "hops", hops);
            }).get(5, TimeUnit.SECONDS);
            return story == null ? null : json.writeValueAsString(story);
        } catch (ExecutionException | TimeoutException | JsonProcessingException e) {
            throw new IllegalStateException("history of task " + taskKey + " not read: " + e, e);
        }
    }

    int activeWorkers() {
        return view.activeWorkers();
    }

    int drainingWorkers() {
        return view.drainingWorkers();
    }

    long workersGone() {
        return view.workersGone();
    }

    @Override
    public void close() {
        polls.cancel(false);
        seconds.cancel(false);
        thread.shutdownNow();
    }
}
