package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** Futures.progress and showProgress over CompletableFutures and plain Futures. */
class FuturesProgressTest {
    @Test
    void countsCompletionsFailuresAndCancelsOnceEach() {
        CompletableFuture<Integer> a = new CompletableFuture<>();
        CompletableFuture<Integer> b = new CompletableFuture<>();
        CompletableFuture<Integer> c = new CompletableFuture<>();
        FutureTask<Integer> plain = new FutureTask<>(() -> 1);
        FutureTask<Integer> plainFailing = new FutureTask<>(() -> {
            throw new ArithmeticException();
        });
        Progress p = Futures.progress(List.of(a, b, a, c, plain, plainFailing));
        assertEquals(OptionalLong.of(5), p.total(), "duplicates once");
        assertEquals(0, p.done());
        a.complete(1);
        b.completeExceptionally(new IllegalStateException());
        plain.run();
        assertEquals(3, p.done());
        assertEquals(1, p.failed());
        c.cancel(false);
        plainFailing.run();
        assertEquals(5, p.done());
        assertEquals(3, p.failed(), "a cancelled future counts as failed");
        assertTrue(p.eta().orElseThrow().isZero());
        assertThrows(NullPointerException.class, () -> Futures.progress(java.util.Arrays.asList(a, null)));
    }

    @Test
    void showProgressBlocksUntilAllAreDoneAndEndsTheLine() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), true, System::nanoTime);
        CompletableFuture<Integer> first = new CompletableFuture<>();
        CompletableFuture<Integer> second = new CompletableFuture<>();
        CompletableFuture<Progress> shown = CompletableFuture.supplyAsync(
                () -> Futures.showProgress(List.of(first, second), bar));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (bytes.size() == 0 && System.nanoTime() < deadline) {   // the first draw, with nothing done
            LockSupport.parkNanos(1_000_000);
        }
        assertFalse(shown.isDone(), "it waits for the futures");
        first.complete(1);
        second.completeExceptionally(new ArithmeticException());
        Progress last = shown.get(10, TimeUnit.SECONDS);
        assertEquals(2, last.done());
        assertEquals(1, last.failed());
        String written = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(written.startsWith("\r[") && written.contains("  0% 0/2 done"), written);
        String lastDraw = written.substring(written.lastIndexOf('\r'));
        assertTrue(lastDraw.contains("100% 2/2 done, 1 failed") && lastDraw.endsWith(System.lineSeparator()), written);
    }
}
