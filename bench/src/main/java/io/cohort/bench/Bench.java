package io.cohort.bench;

import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import io.cohort.client.RemoteFunction;
import io.cohort.client.TaskFuture;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The benchmark harness (a first part: W1 and W3 of BENCH.md). Starts a real cluster, a
 * coordinator and two worker JVMs as separate processes on loopback, with this JVM as the
 * client, and measures each workload against the JDK's ThreadPoolExecutor(2) in the same run.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Runs the benchmark workloads against a real local cluster (W1, W3 so far).")
public final class Bench implements Callable<Integer> {
    private static final Set<String> KNOWN = Set.of("W1", "W3");

    @Option(names = "--only", split = ",", paramLabel = "ID", description = "Workloads to run (default: all of W1,W3).")
    List<String> only = List.of("W1", "W3");

    @Option(names = "--quick", description = "A smoke run: smaller workloads, one run each.")
    boolean quick;

    @Override
    public Integer call() throws Exception {
        for (String id : only) {
            if (!KNOWN.contains(id.toUpperCase(Locale.ROOT))) {
                System.err.println("unknown workload " + id + "; known: " + KNOWN);
                return 2;
            }
        }
        Set<String> ids = new LinkedHashSet<>();
        only.forEach(id -> ids.add(id.toUpperCase(Locale.ROOT)));
        int runs = quick ? 1 : 3;
        System.out.printf("%-4s %-28s %14s %14s %8s%n", "id", "figure", "cohort", "jdk-tpe(2)", "ratio");
        try (Cluster cluster = Cluster.start(2);
             CohortExecutor cohort = Cohort.connect(cluster.target())) {
            ExecutorService jdk = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
            try {
                if (ids.contains("W1")) {
                    int tasks = quick ? 2_000 : 20_000;
                    w1(cohort, tasks);   // warm-up
                    double ours = median(runs, () -> w1(cohort, tasks));
                    w1(jdk, tasks);
                    double base = median(runs, () -> w1(jdk, tasks));
                    row("W1", "tasks_per_s", ours, base, ours / base);
                }
                if (ids.contains("W3")) {
                    int warmup = quick ? 2_000 : 20_000;
                    int samples = quick ? 500 : 2_000;
                    long[] ours = w3(cohort, warmup, samples);
                    long[] base = w3(jdk, warmup, samples);
                    row("W3", "p50_us", ours[0], base[0], (double) ours[0] / base[0]);
                    row("W3", "p99_us", ours[1], base[1], (double) ours[1] / base[1]);
                }
            } finally {
                jdk.shutdownNow();
            }
        }
        return 0;
    }

    private static void row(String id, String figure, double ours, double base, double ratio) {
        System.out.printf("%-4s %-28s %14.0f %14.0f %8.3f%n", id, figure, ours, base, ratio);
    }

    interface Measure {
        double run() throws Exception;
    }

    private static double median(int runs, Measure m) throws Exception {
        double[] xs = new double[runs];
        for (int i = 0; i < runs; i++) {
            xs[i] = m.run();
        }
        Arrays.sort(xs);
        return xs[runs / 2];
    }

    /** W1: submit trivial tasks one call each, then gather them all; tasks per second. */
    static double w1(CohortExecutor cohort, int tasks) throws Exception {
        RemoteFunction<Long, Long> inc = x -> x + 1;
        long start = System.nanoTime();
        List<TaskFuture<Long>> futures = new ArrayList<>(tasks);
        for (long i = 0; i < tasks; i++) {
            futures.add(cohort.submit(inc, i));
        }
        for (TaskFuture<Long> f : futures) {
            f.get();
        }
        return tasks / ((System.nanoTime() - start) / 1e9);
    }

    static double w1(ExecutorService jdk, int tasks) throws Exception {
        long start = System.nanoTime();
        List<Future<Long>> futures = new ArrayList<>(tasks);
        for (long i = 0; i < tasks; i++) {
            long x = i;
            futures.add(jdk.submit(() -> x + 1));
        }
        for (Future<Long> f : futures) {
            f.get();
        }
        return tasks / ((System.nanoTime() - start) / 1e9);
    }

    /** W3: one trivial task at a time; returns {p50, p99} in microseconds. */
    static long[] w3(CohortExecutor cohort, int warmup, int samples) throws Exception {
        RemoteFunction<Long, Long> inc = x -> x + 1;
        for (long i = 0; i < warmup; i++) {
            cohort.submit(inc, i).get();
        }
        long[] micros = new long[samples];
        for (int i = 0; i < samples; i++) {
            long t = System.nanoTime();
            cohort.submit(inc, (long) i).get();
            micros[i] = (System.nanoTime() - t) / 1_000;
        }
        return percentiles(micros);
    }

    static long[] w3(ExecutorService jdk, int warmup, int samples) throws Exception {
        for (long i = 0; i < warmup; i++) {
            long x = i;
            jdk.submit(() -> x + 1).get();
        }
        long[] micros = new long[samples];
        for (int i = 0; i < samples; i++) {
            long x = i;
            long t = System.nanoTime();
            jdk.submit(() -> x + 1).get();
            micros[i] = (System.nanoTime() - t) / 1_000;
        }
        return percentiles(micros);
    }

    private static long[] percentiles(long[] micros) {
        Arrays.sort(micros);
        return new long[] {micros[micros.length / 2], micros[(int) Math.ceil(micros.length * 0.99) - 1]};
    }

    /** A coordinator and workers as separate JVMs on loopback, started from this JVM's class path. */
    static final class Cluster implements AutoCloseable {
        private static final Pattern LISTENING = Pattern.compile("listening on (\\S+)");
        private final List<Process> processes = new ArrayList<>();
        private String target;

        static Cluster start(int workers) throws IOException {
            Cluster c = new Cluster();
            try {
                Process coordinator = c.launch("io.cohort.coordinator.CoordinatorMain", "--port", "0");
                BufferedReader out = new BufferedReader(new InputStreamReader(coordinator.getInputStream(),
                        StandardCharsets.UTF_8));
                String line;
                while (c.target == null && (line = out.readLine()) != null) {
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        c.target = m.group(1);
                    }
                }
                if (c.target == null) {
                    throw new IOException("the coordinator did not start");
                }
                for (int i = 1; i <= workers; i++) {
                    c.launch("io.cohort.worker.WorkerMain", "--coordinator", c.target, "--id", "bench-" + i,
                            "--slots", "1", "--quiet").getInputStream().close();
                }
                awaitWorkers(c.target, workers);
                return c;
            } catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
        }

        private static void awaitWorkers(String target, int workers) {
            try (CohortExecutor probe = Cohort.connect(target)) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (probe.clusterInfo().workers().size() < workers) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("workers did not attach within 60 s");
                    }
                    try {
                        Thread.sleep(20);   // JVMs take a moment to start
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                    }
                }
            }
        }

        /** Extra options for the cluster's JVMs, e.g. to profile them; "{name}" becomes each one's name. */
        private static final String JVM_OPTIONS = System.getProperty("bench.jvmOptions", "");

        private Process launch(String main, String... args) throws IOException {
            String name = main.substring(main.lastIndexOf('.') + 1) + "-" + processes.size();
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            for (String option : JVM_OPTIONS.split(" ")) {
                if (!option.isBlank()) {
                    cmd.add(option.replace("{name}", name));
                }
            }
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            processes.add(p);
            return p;
        }

        String target() {
            return target;
        }

        @Override
        public void close() {
            for (int i = processes.size() - 1; i >= 0; i--) {
                Process p = processes.get(i);
                p.destroy();
                try {
                    if (!p.waitFor(10, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    p.destroyForcibly();
                }
            }
        }
    }
}
