package io.cohort.client;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Run by ProgressBarTerminalTest in its own JVM: 20 futures done one every 30 ms, shown with Futures.showProgress. */
public final class ProgressBarDemo {
    private ProgressBarDemo() {}

    public static void main(String[] args) {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        List<CompletableFuture<Integer>> futures = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            int n = i;
            timer.schedule(() -> f.complete(n), 30L * (i + 1), TimeUnit.MILLISECONDS);
            futures.add(f);
        }
        Futures.showProgress(futures);
        System.out.println("after");
        timer.shutdown();
    }
}
