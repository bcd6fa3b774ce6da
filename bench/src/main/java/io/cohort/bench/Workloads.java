package io.cohort.bench;

import io.cohort.client.CohortExecutor;
import io.cohort.client.MapResult;
import io.cohort.client.RemoteFunction;
import io.cohort.client.TaskFuture;
import io.cohort.client.RemoteCallable;
import io.cohort.client.TaskOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** One run of each workload of BENCH.md, on Cohort and on an in-process JDK executor. */
final class Workloads {
    static final int MIB = 1 << 20;

    private Workloads() {
    }

    /** W1: submit trivial tasks one call each, then gather them all; tasks per second. */
    static double w1(CohortExecutor cohort, int tasks) throws Exception {
        RemoteFunction<Long, Long> inc = x -> x + 1;
        long start = System.nanoTime();
        List<TaskFuture<Long>> futures = new ArrayList<>(tasks);
        for (long i = 0; i < tasks; i++) {
            futures.add(cohort.submit(inc, i));
        }
        long sum = 0;
        for (TaskFuture<Long> f : futures) {
            sum += f.get();
        }
        double rate = tasks / seconds(start);
        checkSum("W1", tasks, sum);
        return rate;
    }

    static double w1(ExecutorService jdk, int tasks) throws Exception {
        long start = System.nanoTime();
        List<Future<Long>> futures = new ArrayList<>(tasks);
        for (long i = 0; i < tasks; i++) {
            long x = i;
            futures.add(jdk.submit(() -> x + 1));
        }
        long sum = 0;
        for (Future<Long> f : futures) {
            sum += f.get();
        }
        double rate = tasks / seconds(start);
        checkSum("W1", tasks, sum);
        return rate;
    }

    /** W2: trivial tasks through map with Cohort's own chunking (no chunk size given); tasks per second. */
    static double w2(CohortExecutor cohort, List<Long> inputs) throws Exception {
        RemoteFunction<Long, Long> inc = x -> x + 1;
        long start = System.nanoTime();
        long sum = 0;
        try (MapResult<Long> results = cohort.map(inc, inputs)) {
            for (Long r : results) {
                sum += r;
            }
        }
        double rate = inputs.size() / seconds(start);
        checkSum("W2", inputs.size(), sum);
        return rate;
    }

    /** W2 on the JDK: it has no map, so chunks of 1,000 inputs per task (Python's chunksize=1000). */
    static double w2(ExecutorService jdk, List<Long> inputs) throws Exception {
        int chunk = 1_000;
        long start = System.nanoTime();
        List<Future<List<Long>>> futures = new ArrayList<>(inputs.size() / chunk + 1);
        for (int from = 0; from < inputs.size(); from += chunk) {
            List<Long> part = inputs.subList(from, Math.min(inputs.size(), from + chunk));
            futures.add(jdk.submit(() -> {
                List<Long> out = new ArrayList<>(part.size());
                for (Long x : part) {
                    out.add(x + 1);
                }
                return out;
            }));
        }
        long sum = 0;
        for (Future<List<Long>> f : futures) {
            for (Long r : f.get()) {
                sum += r;
            }
        }
        double rate = inputs.size() / seconds(start);
        checkSum("W2", inputs.size(), sum);
        return rate;
    }

    static List<Long> w2Inputs(int tasks) {
        List<Long> inputs = new ArrayList<>(tasks);
        for (long i = 0; i < tasks; i++) {
            inputs.add(i);
        }
        return inputs;
    }

    /** The results of x -> x + 1 over 0..n-1 add up to n(n+1)/2: a benchmark that counts wrong answers measures nothing. */
    private static void checkSum(String workload, long n, long sum) {
        if (sum != n * (n + 1) / 2) {
            throw new IllegalStateException(workload + ": wrong results (sum " + sum + ", expected " + n * (n + 1) / 2 + ")");
        }
    }

    /** W3: one trivial task at a time, {@code samples} times; returns {p50, p99} in microseconds. */
    static double[] w3(CohortExecutor cohort, int samples) throws Exception {
        RemoteFunction<Long, Long> inc = x -> x + 1;
        long[] micros = new long[samples];
        for (int i = 0; i < samples; i++) {
            long t = System.nanoTime();
            long result = cohort.submit(inc, (long) i).get();
            micros[i] = (System.nanoTime() - t) / 1_000;
            if (result != i + 1) {
                throw new IllegalStateException("W3: task " + i + " returned " + result);
            }
        }
        return percentiles(micros);
    }

    static double[] w3(ExecutorService jdk, int samples) throws Exception {
        long[] micros = new long[samples];
        for (int i = 0; i < samples; i++) {
            long x = i;
            long t = System.nanoTime();
            jdk.submit(() -> x + 1).get();
            micros[i] = (System.nanoTime() - t) / 1_000;
        }
        return percentiles(micros);
    }

    private static double[] percentiles(long[] micros) {
        Arrays.sort(micros);
        return new double[] {micros[micros.length / 2], micros[(int) Math.ceil(micros.length * 0.99) - 1]};
    }

    /** W4: {@code tasks} CPU-bound tasks of {@code iterations} each, submitted at once; seconds until all are done. */
    static double w4(CohortExecutor cohort, int tasks, long iterations) throws Exception {
        RemoteFunction<Long, Long> spin = Workloads::spin;
        long start = System.nanoTime();
        List<TaskFuture<Long>> futures = new ArrayList<>(tasks);
        for (int i = 0; i < tasks; i++) {
            futures.add(cohort.submit(spin, iterations));
        }
        for (TaskFuture<Long> f : futures) {
            f.get();
        }
        return seconds(start);
    }

    static double w4(ExecutorService jdk, int tasks, long iterations) throws Exception {
        long start = System.nanoTime();
        List<Future<Long>> futures = new ArrayList<>(tasks);
        for (int i = 0; i < tasks; i++) {
            futures.add(jdk.submit(() -> spin(iterations)));
        }
        for (Future<Long> f : futures) {
            f.get();
        }
        return seconds(start);
    }

    /** Pure CPU: a xorshift chain the JIT cannot shortcut. */
    static long spin(long iterations) {
        long x = 88172645463325252L;
        for (long i = 0; i < iterations; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
        }
        return x;
    }

    /** The iterations of {@link #spin} that take about {@code seconds} on this JVM, once warm. */
    static long calibrateSpin(double seconds) {
        long probe = 20_000_000;
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long t = System.nanoTime();
            sink ^= spin(probe);
            best = Math.min(best, seconds(t));
        }
        return Math.max(1, (long) (probe * seconds / best));
    }

    static volatile long sink;

    /** W5: tasks of 1 MiB in and 1 MiB out, submitted at once then gathered; MiB per second, in + out. */
    static double w5(CohortExecutor cohort, int tasks, byte[] payload) throws Exception {
        RemoteFunction<byte[], byte[]> copy = b -> b.clone();
        long start = System.nanoTime();
        List<TaskFuture<byte[]>> futures = new ArrayList<>(tasks);
        for (int i = 0; i < tasks; i++) {
            futures.add(cohort.submit(copy, payload));
        }
        for (int i = 0; i < tasks; i++) {
            checkLength(futures.get(i).get());
            futures.set(i, null);   // let the result go
        }
        return 2.0 * tasks * payload.length / MIB / seconds(start);
    }

    static double w5(ExecutorService jdk, int tasks, byte[] payload) throws Exception {
        long start = System.nanoTime();
        List<Future<byte[]>> futures = new ArrayList<>(tasks);
        for (int i = 0; i < tasks; i++) {
            futures.add(jdk.submit(payload::clone));
        }
        for (int i = 0; i < tasks; i++) {
            checkLength(futures.get(i).get());
            futures.set(i, null);
        }
        return 2.0 * tasks * payload.length / MIB / seconds(start);
    }

    static byte[] w5Payload() {
        byte[] b = new byte[MIB];
        new Random(42).nextBytes(b);
        return b;
    }

    private static void checkLength(byte[] b) {
        if (b.length != MIB) {
            throw new IllegalStateException("W5: a result of " + b.length + " bytes");
        }
    }

    /** W6's outcome: how the bad task ended and when, and how the others fared. */
    record Halt(double detectionMs, String badTaskError, int othersSucceeded, int othersFailed, double seconds) {
    }

    /**
     * W6: {@code others} tasks of about {@code taskMillis} each run while one task halts its
     * worker JVM (no retry, so its first loss is what is timed). Detection is the time from
     * the halt (written to {@code marker} by the task, wall clock in µs) to its future
     * failing here; then every other task is awaited (at most {@code maxSeconds}).
     */
    static Halt w6(CohortExecutor cohort, int others, long taskMillis, Path marker, double maxSeconds) throws Exception {
        long spinFor = taskMillis;
        RemoteFunction<Long, Long> work = x -> {
            long until = System.nanoTime() + spinFor * 1_000_000;
            long n = 0;
            while (System.nanoTime() < until) {
                n++;
            }
            return x + (n > 0 ? 1 : 0);
        };
        String markerPath = marker.toString();
        RemoteCallable<Long> halt = () -> {
            Files.writeString(Path.of(markerPath), Long.toString(epochMicros()));
            Runtime.getRuntime().halt(3);
            return 0L;
        };
        long start = System.nanoTime();
        List<TaskFuture<Long>> futures = new ArrayList<>(others);
        for (long i = 0; i < others / 2; i++) {
            futures.add(cohort.submit(work, i));
        }
        TaskFuture<Long> bad = cohort.submit(halt, TaskOptions.builder().maxRetries(0).name("halts-its-jvm").build());
        for (long i = others / 2; i < others; i++) {
            futures.add(cohort.submit(work, i));
        }
        String error;
        long failedAt;
        try {
            bad.get((long) (maxSeconds * 1000), TimeUnit.MILLISECONDS);
            throw new IllegalStateException("W6: the halting task returned");
        } catch (ExecutionException e) {
            failedAt = epochMicros();
            error = e.getCause().getClass().getSimpleName();
        }
        double detectionMs = (failedAt - Long.parseLong(Files.readString(marker).strip())) / 1e3;
        int ok = 0;
        int failed = 0;
        long deadline = start + (long) (maxSeconds * 1e9);
        for (TaskFuture<Long> f : futures) {
            try {
                f.get(Math.max(1, (deadline - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
                ok++;
            } catch (ExecutionException | TimeoutException e) {
                failed++;
            }
        }
        return new Halt(detectionMs, error, ok, failed, seconds(start));
    }

    private static long epochMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
    }

    static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
