package io.cohort.client;

import static io.cohort.client.FuturesTestSupport.cancelled;
import static io.cohort.client.FuturesTestSupport.failed;
import static io.cohort.client.FuturesTestSupport.onThread;
import static io.cohort.client.FuturesTestSupport.pending;
import static io.cohort.client.FuturesTestSupport.successful;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Modelled on CPython's test_concurrent_futures/test_wait.py. */
@Timeout(20)
class FuturesWaitTest {

    @Test
    void duplicatesCountOnce() { // bpo-20369
        var f = pending();
        onThread(() -> f.complete(1 * 2));
        DoneAndNotDone<CompletableFuture<Object>> r =
                Futures.wait(List.of(f, f), null, ReturnWhen.ALL_COMPLETED);
        assertEquals(Set.of(f), r.done());
        assertEquals(Set.of(), r.notDone());
    }

    @Test
    void firstCompleted() {
        var f1 = pending();
        var f2 = pending(); // never completes during the wait
        onThread(() -> f1.complete(21 * 2));
        var r = Futures.wait(List.of(f1, f2), null, ReturnWhen.FIRST_COMPLETED);
        assertEquals(Set.of(f1), r.done());
        assertEquals(Set.of(f2), r.notDone());
    }

    @Test
    void firstCompletedSomeAlreadyCompleted() {
        var cancelled = cancelled();
        var successful = successful();
        var f1 = pending();
        var r = Futures.wait(List.of(cancelled, successful, f1), null,
                ReturnWhen.FIRST_COMPLETED);
        assertEquals(Set.of(cancelled, successful), r.done());
        assertEquals(Set.of(f1), r.notDone());
    }

    @Test
    void firstException() {
        var f1 = pending();
        var f2 = pending();
        var f3 = pending();
        // f1 succeeds before f2 fails; a success alone must not end the wait.
        onThread(() -> {
            f1.complete(2 * 21);
            f2.completeExceptionally(new RuntimeException("this is an exception"));
        });
        var r = Futures.wait(List.of(f1, f2, f3), null, ReturnWhen.FIRST_EXCEPTION);
        assertEquals(Set.of(f1, f2), r.done());
        assertEquals(Set.of(f3), r.notDone());
    }

    @Test
    void firstExceptionSomeAlreadyComplete() {
        var successful = successful();
        var cancelled = cancelled();
        var f1 = pending();
        var f2 = pending();
        onThread(() -> f1.completeExceptionally(new ArithmeticException("/ by zero")));
        var r = Futures.wait(List.of(successful, cancelled, f1, f2), null,
                ReturnWhen.FIRST_EXCEPTION);
        assertEquals(Set.of(successful, cancelled, f1), r.done());
        assertEquals(Set.of(f2), r.notDone());
    }

    @Test
    void firstExceptionOneAlreadyFailed() {
        var failed = failed();
        var f1 = pending();
        var r = Futures.wait(List.of(failed, f1), null, ReturnWhen.FIRST_EXCEPTION);
        assertEquals(Set.of(failed), r.done());
        assertEquals(Set.of(f1), r.notDone());
    }

    @Test
    void cancelledDoesNotCountAsAnException() {
        var p = pending();
        Duration timeout = Duration.ofMillis(100);
        long start = System.nanoTime();
        var r = Futures.wait(List.of(cancelled(), p), timeout, ReturnWhen.FIRST_EXCEPTION);
        assertTrue(System.nanoTime() - start >= timeout.toNanos(), "returned before the timeout");
        assertEquals(Set.of(p), r.notDone());

        // Nor does a future cancelled during the wait.
        var q = pending();
        var s = pending();
        onThread(() -> {
            q.cancel(true);
            s.complete("ok");
        });
        r = Futures.wait(List.of(q, s), null, ReturnWhen.FIRST_EXCEPTION);
        assertEquals(Set.of(q, s), r.done()); // returned only once all were done
    }

    @Test
    void firstExceptionWithNoExceptionWaitsForAll() {
        var a = pending();
        var b = pending();
        onThread(() -> {
            a.complete(1);
            b.complete(2);
        });
        var r = Futures.wait(List.of(a, b), null, ReturnWhen.FIRST_EXCEPTION);
        assertEquals(Set.of(a, b), r.done());
        assertEquals(Set.of(), r.notDone());
    }

    @Test
    void allCompleted() {
        var successful = successful();
        var cancelled = cancelled();
        var failed = failed();
        var f1 = pending();
        var f2 = pending();
        onThread(() -> {
            f1.completeExceptionally(new ArithmeticException("/ by zero"));
            f2.complete(2 * 21);
        });
        var all = List.of(successful, cancelled, failed, f1, f2);
        var r = Futures.wait(all, null, ReturnWhen.ALL_COMPLETED);
        assertEquals(Set.copyOf(all), r.done());
        assertEquals(Set.of(), r.notDone());
    }

    @Test
    void timeoutReturnsWhatIsDone() {
        var cancelled = cancelled();
        var failed = failed();
        var successful = successful();
        var future = pending();
        var r = Futures.wait(List.of(cancelled, failed, successful, future),
                Duration.ofMillis(50), ReturnWhen.ALL_COMPLETED);
        assertEquals(Set.of(cancelled, failed, successful), r.done());
        assertEquals(Set.of(future), r.notDone());
    }

    @Test
    void zeroTimeoutDoesNotWait() {
        var done = successful();
        var notDone = pending();
        for (ReturnWhen when : ReturnWhen.values()) {
            var r = Futures.wait(List.of(done, notDone), Duration.ZERO, when);
            assertEquals(Set.of(done), r.done());
            assertEquals(Set.of(notDone), r.notDone());
        }
        var r = Futures.wait(List.of(notDone), Duration.ofSeconds(-1), ReturnWhen.ALL_COMPLETED);
        assertEquals(Set.of(notDone), r.notDone());
    }

    @Test
    void emptyInputReturnsAtOnce() {
        for (ReturnWhen when : ReturnWhen.values()) {
            var r = Futures.wait(List.<CompletableFuture<Object>>of(), null, when);
            assertEquals(Set.of(), r.done());
            assertEquals(Set.of(), r.notDone());
        }
    }

    @Test
    void resultsKeepInputOrder() {
        var a = successful();
        var b = pending();
        var c = failed();
        var d = pending();
        var r = Futures.wait(List.of(d, c, b, a), Duration.ZERO, ReturnWhen.ALL_COMPLETED);
        assertEquals(List.of(c, a), new ArrayList<>(r.done()));
        assertEquals(List.of(d, b), new ArrayList<>(r.notDone()));
    }

    @Test
    void overloadsDefaultToAllCompletedAndNoLimit() {
        var a = pending();
        var b = pending();
        onThread(() -> {
            a.complete(1);
            b.complete(2);
        });
        assertEquals(Set.of(a, b), Futures.wait(List.of(a, b)).done());
        var c = pending();
        assertEquals(Set.of(c), Futures.wait(List.of(c), Duration.ZERO).notDone());
        onThread(() -> c.complete(3));
        assertEquals(Set.of(c), Futures.wait(List.of(c, pending()), ReturnWhen.FIRST_COMPLETED)
                .done());
    }

    @Test
    void manyFuturesCompletingConcurrently() throws Exception { // bpo-14406
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            for (int round = 0; round < 20; round++) {
                List<CompletableFuture<Object>> fs = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    fs.add(pending());
                }
                CountDownLatch go = new CountDownLatch(1);
                for (var f : fs) {
                    pool.execute(() -> {
                        try {
                            go.await();
                        } catch (InterruptedException e) {
                            return;
                        }
                        f.complete("x");
                    });
                }
                go.countDown();
                var r = Futures.wait(fs, null, ReturnWhen.ALL_COMPLETED);
                assertEquals(100, r.done().size());
                assertEquals(Set.of(), r.notDone());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void interruptRestoresTheFlagAndThrowsCohortException() {
        var p = pending();
        Thread.currentThread().interrupt();
        try {
            CohortException e = assertThrows(CohortException.class,
                    () -> Futures.wait(List.of(p), null, ReturnWhen.ALL_COMPLETED));
            assertInstanceOf(InterruptedException.class, e.getCause());
            assertTrue(Thread.currentThread().isInterrupted());
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void cancellationExceptionCompletionCountsAsCancelled() {
        // CompletableFuture treats completing with CancellationException as cancelling.
        var c = pending();
        c.completeExceptionally(new CancellationException());
        var p = pending();
        var r = Futures.wait(List.of(c, p), Duration.ofMillis(20), ReturnWhen.FIRST_EXCEPTION);
        assertEquals(Set.of(p), r.notDone());
    }

    @Test
    void nullsAreRefused() {
        assertThrows(NullPointerException.class,
                () -> Futures.wait(null, null, ReturnWhen.ALL_COMPLETED));
        assertThrows(NullPointerException.class,
                () -> Futures.wait(Arrays.asList(successful(), null), null,
                        ReturnWhen.ALL_COMPLETED));
        assertThrows(NullPointerException.class,
                () -> Futures.wait(List.of(successful()), null, null));
    }
}
