package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Progress, outcomes and who completes a future, on a real local cluster of two worker JVMs. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProgressOnClusterTest {
    private static CohortExecutor cohort;

    @BeforeAll
    static void start() {
        cohort = Cohort.local(LocalClusterConfig.builder().workers(2).slotsPerWorker(1).build());
    }

    @AfterAll
    static void stop() {
        cohort.close();
    }

    private static int halveOrFail(int x) {
        if (x == 57) {
            throw new ArithmeticException("no half of " + x);
        }
        return x / 2;
    }

    private record Seen(Progress progress, String thread) {}

    @Test
    void aMapWithAFailingElementGivesEveryOutcomeInOrderAndProgressReachesTheTotal() {
        List<Integer> inputs = IntStream.range(0, 200).boxed().toList();
        ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
        MapResult<Integer> results = cohort.map(ProgressOnClusterTest::halveOrFail, inputs,
                MapOptions.builder().ordered(false)
                        .onProgress(p -> seen.add(new Seen(p, Thread.currentThread().getName()))).build());
        assertEquals(OptionalLong.of(200), results.progress().total(), "known from the start for a collection");

        List<Outcome<Integer>> outcomes = results.outcomes();
        assertEquals(200, outcomes.size());
        for (int i = 0; i < 200; i++) {
            Outcome<Integer> o = outcomes.get(i);
            assertEquals(i, o.index());
            if (i == 57) {
                assertInstanceOf(ArithmeticException.class, o.failure());
                assertEquals("no half of 57", o.failure().getMessage());
                assertThrows(IllegalStateException.class, o::value);
            } else {
                assertEquals(i / 2, o.value());
            }
        }
        assertEquals(200, results.progress().done());
        assertEquals(1, results.progress().failed());

        // the last callback comes once the map has ended, with everything counted
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (seen.stream().noneMatch(s -> s.progress().done() == 200) && System.nanoTime() < deadline) {
            LockSupport.parkNanos(5_000_000);
        }
        List<Seen> calls = new ArrayList<>(seen);
        Seen last = calls.get(calls.size() - 1);
        assertEquals(200, last.progress().done(), "calls: " + calls);
        assertEquals(1, last.progress().failed());
        long before = 0;
        for (Seen s : calls) {
            assertTrue(s.thread().startsWith("cohort-callback"), s.thread());
            assertTrue(s.progress().done() >= before, "never an older state after a newer one: " + calls);
            before = s.progress().done();
        }
    }

    @Test
    void onlyTheClusterCompletesATaskFuture() throws Exception {
        TaskFuture<Integer> f = cohort.submit(() -> 6 * 7);
        assertThrows(UnsupportedOperationException.class, () -> f.complete(0));
        assertThrows(UnsupportedOperationException.class, () -> f.obtrudeValue(0));
        assertEquals(42, f.get(30, TimeUnit.SECONDS));
        assertEquals(84, f.thenApply(x -> x * 2).get(30, TimeUnit.SECONDS));
    }

    @Test
    void progressOverSubmittedFuturesCountsTheFailedOne() {
        List<TaskFuture<Integer>> futures = new ArrayList<>();
        for (int i = 50; i < 60; i++) {
            futures.add(cohort.submit(ProgressOnClusterTest::halveOrFail, i));
        }
        Progress p = Futures.progress(futures);
        Futures.wait(futures);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);   // counted on the callback executor
        while (p.done() < 10 && System.nanoTime() < deadline) {
            LockSupport.parkNanos(5_000_000);
        }
        assertEquals(10, p.done());
        assertEquals(1, p.failed());
        assertTrue(p.eta().orElseThrow().isZero());
    }
}
