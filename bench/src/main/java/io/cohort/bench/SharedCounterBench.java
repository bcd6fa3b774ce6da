package io.cohort.bench;

import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import io.cohort.client.SharedBarrier;
import io.cohort.client.SharedLong;
import io.cohort.client.TaskFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link SharedLong} incremented with {@code addAndGet(1)} from tasks on two worker JVMs (one
 * slot each), started together at a shared barrier. Prints the total rate and the per-call
 * latency percentiles seen inside the tasks. The Python peer is {@code bench/peers/shared_value.py}.
 *
 * <p>Usage: {@code SharedCounterBench [opsPerTask, default 20000]}.
 */
public final class SharedCounterBench {
    private static final int WORKERS = 2;

    private SharedCounterBench() {
    }

    public static void main(String[] args) throws Exception {
        int ops = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        try (Cluster cluster = Cluster.start(WORKERS);
             CohortExecutor cohort = Cohort.connect(cluster.target())) {
            run(cohort, "warmup", Math.max(1, ops / 4));
            SharedLong counter = run(cohort, "measured", ops);
            System.out.println("final count " + counter.get() + " (expected " + (long) WORKERS * ops + ")");
        }
    }

    private static SharedLong run(CohortExecutor cohort, String name, int ops) throws Exception {
        SharedLong counter = cohort.sharedLong(name, 0);
        SharedBarrier start = cohort.sharedBarrier(name + "-start", WORKERS);
        List<TaskFuture<long[]>> tasks = new ArrayList<>();
        for (int t = 0; t < WORKERS; t++) {
            tasks.add(cohort.submit(() -> {
                long[] nanos = new long[ops + 1];   // per call, then the task's total in the last slot
                start.await(Duration.ofSeconds(60));
                long begin = System.nanoTime();
                for (int i = 0; i < ops; i++) {
                    long t0 = System.nanoTime();
                    counter.addAndGet(1);
                    nanos[i] = System.nanoTime() - t0;
                }
                nanos[ops] = System.nanoTime() - begin;
                return nanos;
            }));
        }
        long[] all = new long[WORKERS * ops];
        long longest = 0;
        for (int t = 0; t < WORKERS; t++) {
            long[] nanos = tasks.get(t).get(10, TimeUnit.MINUTES);
            System.arraycopy(nanos, 0, all, t * ops, ops);
            longest = Math.max(longest, nanos[ops]);
        }
        Arrays.sort(all);
        System.out.printf("%s: %d workers x %d addAndGet: %.0f ops/s, p50 %.1f us, p99 %.1f us%n", name, WORKERS, ops,
                all.length / (longest / 1e9), all[all.length / 2] / 1e3, all[(int) (all.length * 0.99)] / 1e3);
        return counter;
    }
}
