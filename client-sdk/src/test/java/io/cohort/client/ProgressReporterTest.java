package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Deliveries: at most one per interval, one at a time, the last one last; on a hand-run executor and clock. */
class ProgressReporterTest {
    private static final long INTERVAL = TimeUnit.MILLISECONDS.toNanos(100);
    private final AtomicLong now = new AtomicLong();
    private final ArrayDeque<Runnable> executor = new ArrayDeque<>();
    private final List<long[]> delayed = new ArrayList<>();   // {delay}, with the task in tasks
    private final List<Runnable> delayedTasks = new ArrayList<>();
    private final List<Long> seen = new ArrayList<>();

    private ProgressTracker tracker(ProgressReporter reporter, long total) {
        ProgressTracker t = new ProgressTracker(now::get, total, reporter);
        reporter.watch(t);
        return t;
    }

    private ProgressReporter reporter(java.util.function.Consumer<Progress> consumer) {
        return new ProgressReporter(consumer, executor::add, (task, nanos) -> {
            delayed.add(new long[] {nanos});
            delayedTasks.add(task);
        }, now::get, INTERVAL);
    }

    private void runExecutor() {
        while (!executor.isEmpty()) {
            executor.poll().run();
        }
    }

    private void fireDelayed() {
        List<Runnable> due = new ArrayList<>(delayedTasks);
        delayed.clear();
        delayedTasks.clear();
        due.forEach(Runnable::run);
    }

    @Test
    void aBurstOfChangesIsOneDeliveryPerIntervalAndTheEndComesLast() {
        ProgressTracker t = tracker(reporter(p -> seen.add(p.done())), 100);
        t.record(1, 0);
        t.record(1, 0);
        assertEquals(1, executor.size(), "one delivery handed off for the burst");
        runExecutor();
        assertEquals(List.of(2L), seen, "the snapshot is taken when the delivery runs");

        now.addAndGet(INTERVAL / 4);
        for (int i = 0; i < 50; i++) {
            t.record(1, 0);
        }
        assertEquals(0, executor.size());
        assertEquals(1, delayed.size(), "within the interval: one delivery waits");
        assertEquals(INTERVAL * 3 / 4, delayed.get(0)[0], "until the interval has passed");
        now.addAndGet(INTERVAL);
        fireDelayed();
        assertEquals(List.of(2L, 52L), seen);

        t.record(48, 3);   // reaches the total: the end is delivered at once, not after the interval
        runExecutor();
        assertEquals(List.of(2L, 52L, 100L), seen);
        t.end();
        t.record(1, 0);
        runExecutor();
        fireDelayed();
        assertEquals(3, seen.size(), "nothing after the last delivery");
    }

    @Test
    void theEndWaitsForARunningDeliveryAndThenFollowsIt() {
        ProgressTracker[] t = new ProgressTracker[1];
        ProgressReporter r = reporter(p -> {
            seen.add(p.done());
            if (p.done() == 1) {
                t[0].record(9, 0);   // the work ends while this callback runs
                assertTrue(executor.isEmpty(), "no second delivery while one runs");
            }
        });
        t[0] = tracker(r, 10);
        t[0].record(1, 0);
        runExecutor();
        assertEquals(List.of(1L, 10L), seen);
    }

    @Test
    void aThrowingCallbackIsCalledAgainOnTheNextChange() {
        ProgressTracker t = tracker(reporter(p -> {
            seen.add(p.done());
            throw new IllegalStateException("callback bug");
        }), -1);
        t.record(1, 0);
        runExecutor();
        now.addAndGet(INTERVAL);
        t.record(1, 0);
        runExecutor();
        assertEquals(List.of(1L, 2L), seen);
    }

    @Test
    void aRejectingExecutorLosesOnlyThatDelivery() {
        boolean[] reject = {true};
        ProgressReporter r = new ProgressReporter(p -> seen.add(p.done()), task -> {
            if (reject[0]) {
                throw new java.util.concurrent.RejectedExecutionException("shut down");
            }
            task.run();
        }, (task, nanos) -> task.run(), now::get, INTERVAL);
        ProgressTracker t = new ProgressTracker(now::get, 3, r);
        r.watch(t);
        t.record(1, 0);
        reject[0] = false;
        t.record(2, 0);
        assertEquals(List.of(3L), seen);
    }
}
