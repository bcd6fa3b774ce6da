package io.cohort.client;

import static io.cohort.client.FuturesTestSupport.cancelled;
import static io.cohort.client.FuturesTestSupport.failed;
import static io.cohort.client.FuturesTestSupport.onThread;
import static io.cohort.client.FuturesTestSupport.pending;
import static io.cohort.client.FuturesTestSupport.successful;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Modelled on CPython's test_concurrent_futures/test_as_completed.py. */
@Timeout(20)
class FuturesAsCompletedTest {

    private static <F> List<F> drainUntilTimeout(Iterable<F> it) {
        List<F> yielded = new ArrayList<>();
        assertThrows(CohortTimeoutException.class, () -> {
            for (F f : it) {
                yielded.add(f);
            }
        });
        return yielded;
    }

    @Test
    void noTimeout() {
        var cancelled = cancelled();
        var failed = failed();
        var successful = successful();
        var f1 = pending();
        var f2 = pending();
        onThread(() -> {
            f1.complete(2 * 21);
            f2.complete(7 * 6);
        });
        List<CompletableFuture<Object>> yielded = new ArrayList<>();
        for (var f : Futures.asCompleted(List.of(cancelled, failed, successful, f1, f2))) {
            yielded.add(f);
        }
        assertEquals(List.of(cancelled, failed, successful), yielded.subList(0, 3));
        assertEquals(5, yielded.size());
        assertTrue(yielded.containsAll(List.of(f1, f2)));
    }

    @Test
    void zeroTimeoutYieldsWhatIsDoneThenTimesOut() {
        var done = List.of(cancelled(), failed(), successful());
        List<CompletableFuture<Object>> all = new ArrayList<>(done);
        all.add(pending());
        assertEquals(done, drainUntilTimeout(Futures.asCompleted(all, Duration.ZERO)));
    }

    @Test
    void shortTimeoutYieldsWhatIsDoneThenTimesOut() {
        var done = List.of(cancelled(), failed(), successful());
        List<CompletableFuture<Object>> all = new ArrayList<>(done);
        all.add(pending());
        assertEquals(done, drainUntilTimeout(Futures.asCompleted(all, Duration.ofMillis(100))));
    }

    @Test
    void negativeTimeoutActsAsZero() {
        var done = successful();
        assertEquals(List.of(done), drainUntilTimeout(
                Futures.asCompleted(List.of(done, pending()), Duration.ofSeconds(-1))));
    }

    @Test
    void timeoutMessageCountsTheUnfinished() {
        var futures = List.of(cancelled(), pending(), pending(), successful());
        Iterator<CompletableFuture<Object>> it =
                Futures.asCompleted(futures, Duration.ZERO).iterator();
        it.next();
        it.next();
        CohortTimeoutException e = assertThrows(CohortTimeoutException.class, it::hasNext);
        assertEquals("2 (of 4) futures unfinished", e.getMessage());
        assertThrows(CohortTimeoutException.class, it::next);
    }

    @Test
    void duplicatesAreYieldedOnce() {
        var f = pending();
        var done = successful();
        onThread(() -> f.complete("x"));
        List<CompletableFuture<Object>> yielded = new ArrayList<>();
        for (var g : Futures.asCompleted(Collections.nCopies(3, f))) {
            yielded.add(g);
        }
        assertEquals(List.of(f), yielded);

        yielded.clear();
        for (var g : Futures.asCompleted(List.of(done, done, f, done), Duration.ZERO)) {
            yielded.add(g);
        }
        assertEquals(List.of(done, f), yielded);
    }

    @Test
    void emptyInputYieldsNothing() {
        Iterator<CompletableFuture<Object>> it = Futures.asCompleted(
                List.<CompletableFuture<Object>>of(), Duration.ZERO).iterator();
        assertFalse(it.hasNext());
        assertThrows(NoSuchElementException.class, it::next);
    }

    @Test
    void endsAfterTheLastFutureWithoutWaiting() {
        var a = successful();
        Iterator<CompletableFuture<Object>> it =
                Futures.asCompleted(List.of(a), Duration.ZERO).iterator();
        assertSame(a, it.next());
        assertFalse(it.hasNext());
        assertFalse(it.hasNext());
    }

    @Test
    void yieldsInCompletionOrder() {
        var a = pending();
        var b = pending();
        var c = pending();
        Iterator<CompletableFuture<Object>> it = Futures.asCompleted(List.of(a, b, c)).iterator();
        // Completed after the pass started, in an order unlike the input's.
        c.complete(3);
        a.completeExceptionally(new IllegalStateException());
        b.cancel(true);
        assertSame(c, it.next());
        assertSame(a, it.next());
        assertSame(b, it.next());
        assertFalse(it.hasNext());
    }

    @Test
    void yieldsEachAsAnotherThreadCompletesIt() throws Exception {
        var a = pending();
        var b = pending();
        var c = pending();
        List<CompletableFuture<Object>> order = List.of(b, c, a);
        Semaphore go = new Semaphore(0);
        Thread completer = onThread(() -> {
            for (var f : order) {
                go.acquireUninterruptibly();
                f.complete("done");
            }
        });
        Iterator<CompletableFuture<Object>> it = Futures.asCompleted(List.of(a, b, c)).iterator();
        List<CompletableFuture<Object>> yielded = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            go.release(); // let exactly one more complete, then block for it
            yielded.add(it.next());
        }
        assertEquals(order, yielded);
        assertFalse(it.hasNext());
        completer.join();
    }

    @Test
    void alreadyDoneComeFirstInInputOrder() {
        var p = pending();
        var d1 = failed();
        var d2 = successful();
        Iterator<CompletableFuture<Object>> it = Futures.asCompleted(List.of(p, d2, d1)).iterator();
        p.complete(1); // after the pass started: queued behind the already-done ones
        assertEquals(List.of(d2, d1, p), List.of(it.next(), it.next(), it.next()));
    }

    @Test
    void timeoutCountsFromTheCall() throws Exception {
        Duration timeout = Duration.ofMillis(500);
        var never = pending();
        long called = System.nanoTime();
        Iterable<CompletableFuture<Object>> it = Futures.asCompleted(List.of(never), timeout);
        // The passing of time is the behaviour under test: wait out the timeout, then iterate.
        assertFalse(new CountDownLatch(1).await(timeout.toMillis(), TimeUnit.MILLISECONDS));
        assertTrue(System.nanoTime() - called >= timeout.toNanos());
        long start = System.nanoTime();
        assertThrows(CohortTimeoutException.class, () -> it.iterator().hasNext());
        // Counting from the iteration would have blocked for the whole timeout again.
        assertTrue(System.nanoTime() - start < timeout.toNanos(),
                "hasNext() waited instead of failing at once");
    }

    @Test
    void aFutureDoneBeforeTheDeadlineIsYieldedEvenWhenAskedLate() {
        var a = pending();
        var b = pending();
        Iterable<CompletableFuture<Object>> it = Futures.asCompleted(List.of(a, b), Duration.ZERO);
        a.complete("in time"); // deadline already passed, but it is done when iteration starts
        assertEquals(List.of(a), drainUntilTimeout(it));
    }

    @Test
    void waitsWithoutLimitForALateFuture() {
        var late = pending();
        Iterator<CompletableFuture<Object>> it = Futures.asCompleted(List.of(late)).iterator();
        onThread(() -> late.complete("late"));
        assertSame(late, it.next());
    }

    @Test
    void eachIterationIsAFreshPass() {
        var a = successful();
        var b = pending();
        Iterable<CompletableFuture<Object>> it = Futures.asCompleted(List.of(a, b));
        b.complete(2);
        List<CompletableFuture<Object>> first = new ArrayList<>();
        it.forEach(first::add);
        List<CompletableFuture<Object>> second = new ArrayList<>();
        it.forEach(second::add);
        assertEquals(List.of(a, b), first);
        assertEquals(first, second);
    }

    @Test
    void interruptRestoresTheFlagAndThrowsCohortException() {
        Iterator<CompletableFuture<Object>> it = Futures.asCompleted(List.of(pending())).iterator();
        Thread.currentThread().interrupt();
        try {
            CohortException e = assertThrows(CohortException.class, it::hasNext);
            assertInstanceOf(InterruptedException.class, e.getCause());
            assertTrue(Thread.currentThread().isInterrupted());
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void nullsAreRefused() {
        assertThrows(NullPointerException.class, () -> Futures.asCompleted(null));
        assertThrows(NullPointerException.class,
                () -> Futures.asCompleted(Arrays.asList(successful(), null)));
    }

    @Test
    void acceptsSubtypesAndKeepsTheirType() {
        class Named extends CompletableFuture<String> { }
        Named n = new Named();
        n.complete("x");
        for (Named got : Futures.asCompleted(List.of(n))) {
            assertSame(n, got);
        }
    }
}
