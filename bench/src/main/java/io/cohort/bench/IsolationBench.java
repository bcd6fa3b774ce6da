package io.cohort.bench;

import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import io.cohort.client.CohortPool;
import io.cohort.client.Isolation;
import io.cohort.client.PoolOptions;
import io.cohort.client.RemoteFunction;
import io.cohort.client.TaskFuture;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * W1 and W3 of BENCH.md through a pool, with {@link Isolation#THREADS} and with
 * {@link Isolation#PROCESS} (tasks relayed to child JVMs), on a coordinator and two worker
 * JVMs; the rounds alternate so both see the same machine. Prints tasks/s and p50/p99 µs.
 *
 * <p>Usage: {@code IsolationBench [w1Tasks, default 20000] [w3Samples, default 2000] [rounds, default 3]}.
 */
public final class IsolationBench {
    private IsolationBench() {
    }

    public static void main(String[] args) throws Exception {
        int w1Tasks = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int w3Samples = args.length > 1 ? Integer.parseInt(args[1]) : 2_000;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        try (Cluster cluster = Cluster.start(2);
             CohortExecutor cohort = Cohort.connect(cluster.target())) {
            for (Isolation isolation : Isolation.values()) {   // warm-up, children started
                try (CohortPool pool = cohort.pool(PoolOptions.builder().isolation(isolation).build())) {
                    w1(pool, w1Tasks / 4);
                    w3(pool, w3Samples);
                }
            }
            for (int round = 1; round <= rounds; round++) {
                for (Isolation isolation : Isolation.values()) {
                    try (CohortPool pool = cohort.pool(PoolOptions.builder().isolation(isolation).build())) {
                        double rate = w1(pool, w1Tasks);
                        long[] p = w3(pool, w3Samples);
                        System.out.printf("round %d %-7s W1 %,10.0f tasks/s   W3 p50 %,6d us  p99 %,6d us%n",
                                round, isolation, rate, p[0], p[1]);
                    }
                }
            }
        }
    }

    private static double w1(CohortPool pool, int tasks) throws Exception {
        RemoteFunction<Long, Long> inc = x -> x + 1;
        long start = System.nanoTime();
        List<TaskFuture<Long>> futures = new ArrayList<>(tasks);
        for (long i = 0; i < tasks; i++) {
            futures.add(pool.applyAsync(inc, i));
        }
        for (TaskFuture<Long> f : futures) {
            f.get();
        }
        return tasks / ((System.nanoTime() - start) / 1e9);
    }

    private static long[] w3(CohortPool pool, int samples) {
        RemoteFunction<Long, Long> inc = x -> x + 1;
        long[] micros = new long[samples];
        for (int i = 0; i < samples; i++) {
            long t = System.nanoTime();
            pool.apply(inc, (long) i);
            micros[i] = (System.nanoTime() - t) / 1_000;
        }
        Arrays.sort(micros);
        return new long[] {micros[samples / 2], micros[(int) Math.ceil(samples * 0.99) - 1]};
    }
}
