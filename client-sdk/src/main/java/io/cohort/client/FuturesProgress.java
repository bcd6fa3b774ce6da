package io.cohort.client;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.LongSupplier;

/**
 * Feeds the progress of a fixed set of futures ({@code Futures.progress}). A future that is a
 * {@link CompletionStage} ({@code CompletableFuture}, {@code TaskFuture}) is counted by one
 * callback registered at the start; any other {@link Future} cannot call back, so those still
 * pending are checked with {@code isDone()} when the progress is read. A future that failed or
 * was cancelled counts as failed. Thread-safe.
 */
final class FuturesProgress {
    private final ProgressTracker tracker;
    private final List<Future<?>> unwatched = new ArrayList<>();   // plain futures not seen done; guarded by itself

    private FuturesProgress(ProgressTracker tracker) {
        this.tracker = tracker;
    }

    /** A live progress of {@code futures} (distinct, non-null) from now, on {@code clock}. */
    static ProgressTracker watch(List<? extends Future<?>> futures, LongSupplier clock) {
        FuturesProgress p = new FuturesProgress(new ProgressTracker(clock, -1, ProgressTracker.Listener.NONE));
        for (Future<?> f : futures) {
            if (f instanceof CompletionStage<?> stage) {
                stage.whenComplete((value, error) -> p.tracker.record(1, error == null ? 0 : 1));
            } else {
                p.unwatched.add(f);
            }
        }
        if (!p.unwatched.isEmpty()) {
            p.tracker.refreshWith(p::poll);
        }
        p.tracker.total(futures.size());   // after the callbacks: the end is seen whichever way they race
        return p.tracker;
    }

    /** Counts the plain futures that are done now. */
    private void poll() {
        synchronized (unwatched) {
            for (Iterator<Future<?>> it = unwatched.iterator(); it.hasNext(); ) {
                Future<?> f = it.next();
                if (f.isDone()) {
                    it.remove();
                    tracker.record(1, failed(f) ? 1 : 0);
                }
            }
        }
    }

    private static boolean failed(Future<?> done) {
        try {
            done.get();
            return false;
        } catch (ExecutionException | CancellationException e) {
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
