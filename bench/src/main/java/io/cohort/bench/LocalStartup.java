package io.cohort.bench;

import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import io.cohort.client.RemoteCallable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * W7, run in a fresh JVM started by {@link Bench}: from nothing to the first result of
 * {@code Cohort.local(2)} ("cohort") or of a new ThreadPoolExecutor(2) ("jdk"). Prints
 * {@code seconds=S}, the time from just before the executor is made to the first result.
 */
public final class LocalStartup {
    private LocalStartup() {
    }

    public static void main(String[] args) throws Exception {
        boolean jdk = args.length > 0 && args[0].equals("jdk");
        long start = System.nanoTime();
        int answer;
        if (jdk) {
            ExecutorService pool = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
            answer = pool.submit(() -> 6 * 7).get();
            System.out.println("seconds=" + (System.nanoTime() - start) / 1e9);
            pool.shutdownNow();
        } else {
            try (CohortExecutor cohort = Cohort.local(2)) {
                answer = cohort.submit((RemoteCallable<Integer>) () -> 6 * 7).get();
                System.out.println("seconds=" + (System.nanoTime() - start) / 1e9);
            }
        }
        System.out.flush();
        System.exit(answer == 42 ? 0 : 1);
    }
}
