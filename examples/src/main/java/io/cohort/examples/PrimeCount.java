package io.cohort.examples;

import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import io.cohort.client.LocalClusterConfig;
import io.cohort.client.MapOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Counts the primes below a limit by trial division, in ranges spread over worker JVMs of an
 * embedded local cluster: once with two workers, once with one, and prints the speedup.
 */
@Command(name = "primes", mixinStandardHelpOptions = true,
        description = "Count primes below a limit on an embedded local cluster (2 workers vs 1).")
public final class PrimeCount implements Callable<Integer> {
    /** Held so its level sticks (loggers are only weakly held by their manager). */
    private static final java.util.logging.Logger COHORT_LOGS = java.util.logging.Logger.getLogger("io.cohort");

    @Option(names = "--limit", description = "Count primes below this (default: ${DEFAULT-VALUE}).")
    int limit = 50_000_000;

    @Option(names = "--chunks", description = "Ranges to split the work into (default: ${DEFAULT-VALUE}).")
    int chunks = 100;

    @Override
    public Integer call() throws Exception {
        // The cluster's routine INFO lines would drown the example's own output.
        COHORT_LOGS.setLevel(java.util.logging.Level.WARNING);
        if (limit < 2 || chunks < 1) {
            System.err.println("--limit must be at least 2 and --chunks at least 1");
            return 2;
        }
        List<int[]> ranges = ranges(limit, chunks);
        Run one = run(1, ranges);
        Run two = run(2, ranges);
        if (two.primes != one.primes) {
            System.err.println("runs disagree: " + two.primes + " vs " + one.primes);
            return 1;
        }
        System.out.printf("primes below %,d: %,d%n", limit, two.primes);
        System.out.printf("2 workers: %.2f s   1 worker: %.2f s   speedup: %.2fx%n",
                two.seconds, one.seconds, one.seconds / two.seconds);
        return 0;
    }

    private record Run(long primes, double seconds) {}

    private static Run run(int workers, List<int[]> ranges) {
        LocalClusterConfig config = LocalClusterConfig.builder().workers(workers).slotsPerWorker(1).build();
        try (CohortExecutor cluster = Cohort.local(config)) {
            awaitWorkers(cluster, workers);   // local() returns with the first worker; time them all
            // Warm up: fresh JVMs compile the hot loop and the RPC paths before we time anything.
            cluster.map(PrimeCount::countPrimes, ranges(Math.max(2, ranges.get(ranges.size() - 1)[1] / 4), workers * 8),
                    MapOptions.builder().chunkSize(1).build()).toList();
            long start = System.nanoTime();
            long primes = 0;
            // chunkSize 1: each range is already a good-sized unit of work; the bar shows the ranges done
            for (long count : cluster.map(PrimeCount::countPrimes, ranges,
                    MapOptions.builder().chunkSize(1).showProgress(true).build())) {
                primes += count;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("%d worker%s: %,d primes in %.2f s%n", workers, workers == 1 ? "" : "s", primes, seconds);
            return new Run(primes, seconds);
        }
    }

    private static void awaitWorkers(CohortExecutor cluster, int workers) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (cluster.clusterInfo().workers().size() < workers) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + cluster.clusterInfo().workers().size() + " of " + workers
                        + " workers attached within 60 s");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
        }
    }

    static List<int[]> ranges(int limit, int chunks) {
        List<int[]> out = new ArrayList<>(chunks);
        int step = Math.max(1, (int) (((long) limit + chunks - 1) / chunks));
        for (long lo = 0; lo < limit; lo += step) {
            out.add(new int[] {(int) lo, (int) Math.min(limit, lo + step)});
        }
        return out;
    }

    /** Primes in [range[0], range[1]), by trial division with the primes up to its root: CPU work on purpose. */
    static long countPrimes(int[] range) {
        int[] divisors = primesUpTo((int) Math.sqrt(range[1]) + 1);
        long count = 0;
        for (int n = Math.max(2, range[0]); n < range[1]; n++) {
            boolean prime = true;
            for (int p : divisors) {
                if (p * p > n) {
                    break;
                }
                if (n % p == 0) {
                    prime = false;
                    break;
                }
            }
            if (prime) {
                count++;
            }
        }
        return count;
    }

    /** The primes up to {@code max}, by a small sieve. */
    static int[] primesUpTo(int max) {
        boolean[] composite = new boolean[max + 1];
        int[] primes = new int[max + 1];
        int found = 0;
        for (int i = 2; i <= max; i++) {
            if (!composite[i]) {
                primes[found++] = i;
                for (long j = (long) i * i; j <= max; j += i) {
                    composite[(int) j] = true;
                }
            }
        }
        return java.util.Arrays.copyOf(primes, found);
    }
}
