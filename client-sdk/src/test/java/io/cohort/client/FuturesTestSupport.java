package io.cohort.client;

import java.util.concurrent.CompletableFuture;

/** Futures in the states CPython's tests use, as plain CompletableFutures. */
final class FuturesTestSupport {
    private FuturesTestSupport() {}

    static CompletableFuture<Object> pending() {
        return new CompletableFuture<>();
    }

    static CompletableFuture<Object> successful() {
        return CompletableFuture.completedFuture(42);
    }

    static CompletableFuture<Object> failed() {
        return CompletableFuture.failedFuture(new OSError());
    }

    static CompletableFuture<Object> cancelled() {
        CompletableFuture<Object> f = new CompletableFuture<>();
        f.cancel(false);
        return f;
    }

    /** Runs {@code action} on a new thread, started now. */
    static Thread onThread(Runnable action) {
        Thread t = new Thread(action, "futures-test");
        t.setDaemon(true);
        t.start();
        return t;
    }

    static final class OSError extends RuntimeException {
        OSError() {
            super("boom");
        }
    }
}
