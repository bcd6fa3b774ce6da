package io.cohort.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohort.bench.l0.RelayClient;
import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The benchmark harness of BENCH.md. W1-W5 run against a real cluster: a coordinator and
 * worker JVMs as separate processes on loopback, with this JVM as the client. Each workload
 * runs once to warm up, then 3 times (the median is quoted, min and max beside it), and
 * against the JDK's ThreadPoolExecutor in this JVM in the same run. W7 runs in fresh JVMs.
 * S1 and S2 start clusters of their own, S3 runs JMH; {@code --peers} runs Python's pools on
 * the same workloads ({@link Peers}) and sets our figures beside theirs. W1, W2, W3 and W5 are
 * measured cold, then warm (the same cluster after {@code --warm-seconds} more of each); L0, a
 * bare gRPC relay in JVMs of its own ({@link io.cohort.bench.l0.RelayMain}), is the ceiling
 * each of their figures is divided by ("vs L0").
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Runs the benchmark workloads of BENCH.md against a real local cluster.")
public final class Bench implements Callable<Integer> {
    static final List<String> ALL = List.of("W1", "W2", "W3", "W4", "W5", "W6", "W7", "L0", "S1", "S2", "S3", "J1");
    /** The workloads Python's pools run too (bench/peers/peers.py). */
    static final List<String> PEER_WORKLOADS = List.of("W1", "W2", "W3", "W4", "W5", "W7");
    /** The workloads {@code --profile} covers: those on the shared bench cluster. */
    static final List<String> PROFILED = List.of("W1", "W2", "W3", "W4", "W5");

    @Option(names = "--only", split = ",", paramLabel = "ID", description = "Workloads to run, e.g. W1,W3 (default: all).")
    List<String> only = ALL;

    @Option(names = "--quick", description = "A smoke run: smaller workloads, one run each after the warm-up.")
    boolean quick;

    @Option(names = "--runs", paramLabel = "N", description = "Measured runs per workload after the warm-up (default: 3, --quick 1).")
    Integer runsWanted;

    @Option(names = "--warm-seconds", paramLabel = "N", description = "How long W1, W2, W3 and W5 each keep "
            + "running on the cluster after their cold runs before their warm runs are measured (default: 60, "
            + "--quick 2; 0 skips the warm figures). L0 runs each of its parts for this long, at most "
            + L0_WARM_SECONDS_MAX + " s, before it is measured.")
    Integer warmSecondsWanted;

    @Option(names = "--output", paramLabel = "PATH", description = "Where to write the JSON (default: ${DEFAULT-VALUE}).")
    Path output = Path.of("bench-results.json");

    @Option(names = "--peers", description = "Also run Python's ProcessPoolExecutor(2) and multiprocessing.Pool(2) on "
            + "W1-W5 and W7 (bench/peers/peers.py, needs python3) and report our ratio to each.")
    boolean peers;

    @Option(names = "--profile", paramLabel = "DIR", description = "CPU-profile the measured runs of W1-W5 on the "
            + "shared cluster (not their warm-up, the ThreadPoolExecutor baseline or W4's 1-worker cluster) in the "
            + "coordinator, each worker and this client JVM with async-profiler (a sample per ms of CPU): writes "
            + "DIR/<workload>/<process>.collapsed and DIR/<workload>/summary.txt. The others (W6, W7, L0, S1-S3, J1, "
            + "the warm runs and "
            + "--peers; most start JVMs of their own) are not profiled.")
    Path profileDir;

    /**
     * One figure of a workload: each run's value on Cohort and, where one applies, on a
     * baseline ({@code baseName}: the JDK's ThreadPoolExecutor unless said otherwise).
     */
    record Figure(String workload, String name, double[] cohort, double[] jdk, String baseName, boolean warm) {
        Figure(String workload, String name, double[] cohort, double[] jdk) {
            this(workload, name, cohort, jdk, "jdk_thread_pool_executor", false);
        }

        Figure(String workload, String name, double[] cohort, double[] jdk, String baseName) {
            this(workload, name, cohort, jdk, baseName, false);
        }
    }

    /**
     * Which L0 figure each workload's figure is set against ("vs L0"): W2 against the relay's
     * rate of single items (L0 has no map; a map's items are the same trivial items).
     */
    static final Map<String, String> L0_FIGURE = Map.of(
            "W1/tasks_per_s", "w1_tasks_per_s",
            "W1/cpu_us_per_task", "w1_cpu_us_per_task",
            "W2/tasks_per_s", "w1_tasks_per_s",
            "W3/p50_us", "w3_p50_us",
            "W3/p99_us", "w3_p99_us",
            "W5/mb_per_s", "w5_mb_per_s");
    /** L0's warm-up per part is --warm-seconds but at most this: the bare relay is warm long before. */
    static final int L0_WARM_SECONDS_MAX = 10;
    /** A warm phase ends after --warm-seconds or this many runs of its workload, whichever comes first. */
    static final int WARM_MAX_ITERATIONS = 10_000;
    /** L0's bound on items outstanding: W1's trivial items, W5's items of 1 MiB. */
    static final int L0_W1_WINDOW = 10_000;
    static final int L0_W5_WINDOW = 16;

    private final List<Figure> figures = new ArrayList<>();
    private final Map<String, Integer> runsOf = new LinkedHashMap<>();
    /** Figures beyond the table's, per workload, written into its JSON object as they are. */
    private final Map<String, ObjectNode> details = new LinkedHashMap<>();
    private final ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private JsonNode peerResults;
    private final Map<String, String> failures = new LinkedHashMap<>();
    private double[] w1OnTwoWorkers;
    private int runs;
    private double warmSeconds;
    /** Figures beyond the table's of each workload's warm runs, written into its "warm" object. */
    private final Map<String, ObjectNode> warmDetails = new LinkedHashMap<>();
    private ClusterProfiler profiler;

    @Override
    public Integer call() throws Exception {
        Set<String> ids = new LinkedHashSet<>();
        for (String id : only) {
            String up = id.trim().toUpperCase(Locale.ROOT);
            if (!ALL.contains(up)) {
                System.err.println("bench: unknown workload '" + id + "'; known: " + String.join(",", ALL));
                return 2;
            }
            ids.add(up);
        }
        runs = runsWanted != null ? Math.max(1, runsWanted) : quick ? 1 : 3;
        warmSeconds = warmSecondsWanted != null ? Math.max(0, warmSecondsWanted) : quick ? 2 : 60;
        if (quick && only == ALL) {
            // each starts JVMs of its own, which is most of a quick run's time on a busy machine
            ids.removeAll(List.of("W6", "S2", "J1"));
            progress("quick", "W6, S2 and J1 skipped; name them in --only for small versions");
        }

        if (profileDir != null) {
            profiler = ClusterProfiler.open(profileDir);
            ids.stream().filter(id -> !PROFILED.contains(id))
                    .forEach(id -> progress(id, "not profiled: --profile covers W1-W5, on the shared cluster"));
            if (peers) {
                progress("peers", "not profiled");
            }
        }
        if (ids.contains("W7")) {
            w7();   // first, while no cluster runs
        }
        if (ids.contains("L0")) {
            isolated("L0", this::l0);   // its JVMs end before the cluster's start
        }
        if (ids.stream().anyMatch(id -> List.of("W1", "W2", "W3", "W4", "W5", "S1", "S2").contains(id))) {
            onCluster(ids);
        }
        // each of these starts what it needs; one failing is reported and the others still run
        if (ids.contains("W6")) {
            isolated("W6", this::w6);
        }
        if (ids.contains("S1")) {
            isolated("S1", this::s1Queued);
        }
        if (ids.contains("S2")) {
            isolated("S2", this::s2);
        }
        if (ids.contains("J1")) {
            isolated("J1", this::j1);
        }
        if (ids.contains("S3")) {
            isolated("S3", this::s3);
        }
        if (peers) {
            List<String> peerIds = PEER_WORKLOADS.stream().filter(ids::contains).toList();
            if (!peerIds.isEmpty()) {
                progress("peers", "Python's ProcessPoolExecutor(2) and multiprocessing.Pool(2) on " + peerIds);
                isolated("peers", () -> peerResults = Peers.run(peerIds, quick));
            }
        }

        printTable(ids);
        writeJson(ids);
        System.out.println("wrote " + output.toAbsolutePath());
        return failures.isEmpty() ? 0 : 1;
    }

    interface Step {
        void run() throws Exception;
    }

    /** Runs a step; a failure is printed and kept for the JSON ("failures") instead of ending the run. */
    private void isolated(String id, Step step) {
        try {
            step.run();
        } catch (Exception e) {
            System.err.println("bench: " + id + " failed: " + e);
            e.printStackTrace();
            failures.put(id, e.toString());
        }
    }

    private void onCluster(Set<String> ids) throws Exception {
        double[] w4TwoWorkers = null;
        long spinIterations = 0;
        int w4Tasks = 8;
        ExecutorService jdk = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
        // each cold workload adds its warm phase here; they run after all the cold ones, so those
        // keep measuring a fresh cluster's first minutes as before
        List<Step> warmPhases = new ArrayList<>();
        try {
            try (Cluster cluster = Cluster.start(2);
                 CohortExecutor cohort = Cohort.connect(cluster.target())) {
                if (ids.contains("W1") || ids.contains("S2")) {   // S2 is quoted against W1
                    int tasks = w1Tasks();
                    progress("W1", tasks + " tasks");
                    // Warm-up: as many tasks as W3's warm-up round trips and more (JIT-compiling the whole
                    // path takes ~100,000 tasks here: CPU per task falls from ~130 µs in the first runs to ~40).
                    int warmups = quick ? 1 : W1_WARMUP_RUNS;
                    double[][] ours = repeat2(profiled("W1", cluster, tasks), () -> w1Warm(cluster, cohort, tasks, warmups),
                            () -> w1WithCpu(cluster, cohort, tasks));
                    w1OnTwoWorkers = ours[0];
                    if (ids.contains("W1")) {
                        double[][] base = repeat2(() -> w1Warm(null, jdk, tasks, warmups), () -> w1WithCpu(null, jdk, tasks));
                        add("W1", "tasks_per_s", w1OnTwoWorkers, base[0]);
                        add("W1", "cpu_us_per_task", ours[1], base[1]);
                        warmPhases.add(() -> {
                            double[][] warm = warm("W1", () -> w1WithCpu(cluster, cohort, tasks));
                            addWarm("W1", "tasks_per_s", warm[0]);
                            addWarm("W1", "cpu_us_per_task", warm[1]);
                        });
                    }
                }
                if (ids.contains("W2")) {
                    List<Long> inputs = Workloads.w2Inputs(quick ? 20_000 : 200_000);
                    progress("W2", inputs.size() + " tasks through map");
                    add("W2", "tasks_per_s", repeat(profiled("W2", cluster, inputs.size()), () -> Workloads.w2(cohort, inputs)),
                            repeat(() -> Workloads.w2(jdk, inputs)));
                    warmPhases.add(() -> addWarm("W2", "tasks_per_s",
                            warm("W2", () -> new double[] {Workloads.w2(cohort, inputs)})[0]));
                }
                if (ids.contains("W3")) {
                    int warmup = quick ? 2_000 : 20_000;
                    int samples = quick ? 500 : 2_000;
                    progress("W3", warmup + " warm-up round trips, then " + samples + " per run");
                    Map<String, Long> pids = withClient(cluster.pids());
                    double[][] ours = repeat2(both(profiled("W3", cluster, samples), switches(detail("W3"), pids, samples)),
                            () -> Workloads.w3(cohort, warmup), () -> Workloads.w3(cohort, samples));
                    double[][] base = repeat2(() -> Workloads.w3(jdk, warmup), () -> Workloads.w3(jdk, samples));
                    add("W3", "p50_us", ours[0], base[0]);
                    add("W3", "p99_us", ours[1], base[1]);
                    warmPhases.add(() -> {
                        double[][] warm = warm("W3", switches(warmDetail("W3"), pids, samples),
                                () -> Workloads.w3(cohort, samples));
                        addWarm("W3", "p50_us", warm[0]);
                        addWarm("W3", "p99_us", warm[1]);
                    });
                }
                if (ids.contains("W5")) {
                    int tasks = quick ? 20 : 200;
                    byte[] payload = Workloads.w5Payload();
                    progress("W5", tasks + " tasks of 1 MiB in, 1 MiB out");
                    add("W5", "mb_per_s", repeat(profiled("W5", cluster, tasks), () -> Workloads.w5(cohort, tasks, payload)),
                            repeat(() -> Workloads.w5(jdk, tasks, payload)));
                    warmPhases.add(() -> addWarm("W5", "mb_per_s",
                            warm("W5", () -> new double[] {Workloads.w5(cohort, tasks, payload)})[0]));
                }
                if (ids.contains("S1")) {
                    s1LazyMap(cohort);
                }
                if (ids.contains("W4")) {
                    double taskSeconds = quick ? 0.05 : 0.25;
                    spinIterations = Workloads.calibrateSpin(taskSeconds);
                    long n = spinIterations;
                    progress("W4", w4Tasks + " tasks of ~" + taskSeconds + " s (" + n + " iterations); 2 workers");
                    w4TwoWorkers = repeat(profiled("W4", cluster, w4Tasks), () -> Workloads.w4(cohort, w4Tasks, n));
                }
                if (warmSeconds > 0) {
                    for (Step phase : warmPhases) {
                        phase.run();
                    }
                }
            }
            if (ids.contains("W4")) {
                long n = spinIterations;
                double[] oneWorker;
                progress("W4", "1 worker");
                try (Cluster single = Cluster.start(1);
                     CohortExecutor cohort = Cohort.connect(single.target())) {
                    oneWorker = repeat(() -> Workloads.w4(cohort, w4Tasks, n));
                }
                progress("W4", "JDK, 1 thread then 2 threads");
                ExecutorService jdk1 = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
                double[] jdkOne;
                try {
                    jdkOne = repeat(() -> Workloads.w4(jdk1, w4Tasks, n));
                } finally {
                    jdk1.shutdownNow();
                }
                double[] jdkTwo = repeat(() -> Workloads.w4(jdk, w4Tasks, n));
                double[] speedup = ratios(oneWorker, w4TwoWorkers);
                double[] jdkSpeedup = ratios(jdkOne, jdkTwo);
                add("W4", "speedup", speedup, jdkSpeedup);
                add("W4", "efficiency", scale(speedup, 0.5), scale(jdkSpeedup, 0.5));
            }
        } finally {
            jdk.shutdownNow();
        }
    }

    /**
     * A workload's warm figures: {@code m} again and again on the same cluster for
     * {@link #warmSeconds} (at most {@link #WARM_MAX_ITERATIONS} runs, each checking its
     * results), then {@link #runs} measured runs of it; returns [figure][run].
     */
    private double[][] warm(String id, Measure2 m) throws Exception {
        return warm(id, null, m);
    }

    /** {@link #warm(String, Measure2)}, the measured runs watched by {@code around} when not null. */
    private double[][] warm(String id, Profiled around, Measure2 m) throws Exception {
        progress(id, "warm: running it for " + num(warmSeconds) + " s on the same cluster, then " + runs + " measured run(s)");
        long start = System.nanoTime();
        int iterations = 0;
        while (iterations < WARM_MAX_ITERATIONS && Workloads.seconds(start) < warmSeconds) {
            m.run();
            iterations++;
        }
        ObjectNode d = warmDetail(id);
        d.put("warm_seconds", round(Workloads.seconds(start)));
        d.put("warm_iterations", iterations);
        return repeat2(around, () -> null, m);
    }

    private void addWarm(String workload, String name, double[] xs) {
        figures.add(new Figure(workload, name, xs, null, null, true));
    }

    private ObjectNode warmDetail(String id) {
        return warmDetails.computeIfAbsent(id, k -> mapper.createObjectNode());
    }

    /**
     * L0, the ceiling: a bare gRPC relay (this JVM, a relay JVM, 2 worker JVMs; {@link
     * io.cohort.bench.l0.RelayMain}) with W1's, W3's and W5's payloads, every result checked.
     * Each part runs at least as long as the cold workloads' warm-ups, and for --warm-seconds
     * (at most {@link #L0_WARM_SECONDS_MAX}), before its measured runs: L0's figures are warm.
     */
    private void l0() throws Exception {
        double seconds = Math.min(warmSeconds, L0_WARM_SECONDS_MAX);
        progress("L0", "a bare gRPC relay (client -> relay -> 2 workers -> back, no scheduler, no futures); "
                + "each part warmed for " + num(seconds) + " s");
        try (Cluster relay = Cluster.relay(2);
             RelayClient client = new RelayClient(relay.target())) {
            int tasks = w1Tasks();
            progress("L0", "W1's load: " + tasks + " items one call each, at most " + L0_W1_WINDOW + " outstanding");
            double[][] w1 = l0Part(seconds, quick ? 1 : W1_WARMUP_RUNS, () -> {
                long before = relay.cpuNanos();
                double rate = client.w1(tasks, L0_W1_WINDOW);
                return new double[] {rate, (relay.cpuNanos() - before) / 1e3 / tasks};
            }, null);
            add("L0", "w1_tasks_per_s", w1[0], null);
            add("L0", "w1_cpu_us_per_task", w1[1], null);

            int samples = quick ? 500 : 2_000;
            int warmupRoundTrips = quick ? 2_000 : 20_000;
            progress("L0", "W3's load: one item at a time, " + samples + " per run");
            double[][] w3 = l0Part(seconds, warmupRoundTrips / samples, () -> client.w3(samples),
                    switches(detail("L0"), withClient(relay.pids()), samples));
            add("L0", "w3_p50_us", w3[0], null);
            add("L0", "w3_p99_us", w3[1], null);

            int items = quick ? 20 : 200;
            byte[] payload = Workloads.w5Payload();
            progress("L0", "W5's load: " + items + " items of 1 MiB in, 1 MiB out, at most " + L0_W5_WINDOW + " outstanding");
            double[][] w5 = l0Part(seconds, 1, () -> new double[] {client.w5(items, payload, L0_W5_WINDOW)}, null);
            add("L0", "w5_mb_per_s", w5[0], null);
        }
        ObjectNode d = detail("L0");
        d.put("warmup_seconds_per_part", round(seconds));
        d.put("w1_window_items", L0_W1_WINDOW);
        d.put("w5_window_items", L0_W5_WINDOW);
    }

    /** An L0 part: {@code m} at least {@code minRuns} times and for {@code seconds}, then {@link #runs} measured runs. */
    private double[][] l0Part(double seconds, int minRuns, Measure2 m, Profiled around) throws Exception {
        long start = System.nanoTime();
        for (int i = 0; i < WARM_MAX_ITERATIONS && (i < minRuns || Workloads.seconds(start) < seconds); i++) {
            m.run();
        }
        return repeat2(around, () -> null, m);
    }

    /** {@code pids} and this JVM's, as "client". */
    private static Map<String, Long> withClient(Map<String, Long> pids) {
        Map<String, Long> all = new LinkedHashMap<>(pids);
        all.put("client", ProcessHandle.current().pid());
        return all;
    }

    /**
     * Counts the context switches of each of {@code pids} over the measured runs of a workload
     * of {@code perRun} round trips, into {@code into}'s "ctx_switches_per_round_trip"; null
     * where /proc cannot tell.
     */
    private Profiled switches(ObjectNode into, Map<String, Long> pids, int perRun) {
        if (!ContextSwitches.available()) {
            return null;
        }
        return () -> {
            Map<String, Long> before = ContextSwitches.read(pids);
            return () -> {
                Map<String, Long> after = ContextSwitches.read(pids);
                ObjectNode n = into.putObject("ctx_switches_per_round_trip");
                ContextSwitches.per(before, after, (long) perRun * runs).forEach((name, x) -> n.put(name, round(x)));
            };
        };
    }

    /** Both windows around the same runs ({@code inner} inside {@code outer}); either may be null. */
    private static Profiled both(Profiled outer, Profiled inner) {
        if (outer == null || inner == null) {
            return outer == null ? inner : outer;
        }
        return () -> {
            AutoCloseable o = outer.start();
            AutoCloseable i;
            try {
                i = inner.start();
            } catch (Exception e) {
                o.close();
                throw e;
            }
            return () -> {
                try {
                    i.close();
                } finally {
                    o.close();
                }
            };
        };
    }

    /** W1's warm-up runs of {@link #w1Tasks()} tasks each. */
    private static final int W1_WARMUP_RUNS = 5;

    private int w1Tasks() {
        return quick ? 2_000 : 20_000;
    }

    /**
     * W6 on {@code Cohort.local(2)} (the mode that replaces a dead worker JVM): one task halts
     * its JVM while the others run; a fresh local cluster for each run. Detection varies a lot
     * from run to run (HotSpot's exit waits for compilations in progress), so it takes the
     * median like the others; the outcome adds up every run.
     */
    private void w6() throws Exception {
        int others = quick ? 200 : 1_000;
        progress("W6", "a task halts its worker JVM while " + others + " others run, on Cohort.local(2); "
                + runs + " run(s)");
        double[] detection = new double[runs];
        java.util.Set<String> badTaskErrors = new java.util.LinkedHashSet<>();
        int succeeded = 0;
        int failed = 0;
        double seconds = 0;
        for (int run = 0; run < runs; run++) {
            Path marker = Files.createTempFile("cohort-w6-", ".txt");
            Workloads.Halt h;
            try (CohortExecutor local = Cohort.local(2)) {
                h = Workloads.w6(local, others, 2, marker, quick ? 30 : 120);
            } finally {
                Files.deleteIfExists(marker);
            }
            detection[run] = h.detectionMs();
            badTaskErrors.add(h.badTaskError());
            succeeded += h.othersSucceeded();
            failed += h.othersFailed();
            seconds += h.seconds();
        }
        add("W6", "detection_ms", detection, null);
        ObjectNode d = detail("W6");
        d.put("bad_task_error", String.join(", ", badTaskErrors));
        d.put("others", others * runs);
        d.put("others_succeeded", succeeded);
        d.put("others_failed", failed);
        d.put("seconds", round(seconds));
    }

    /** S1, first part: coordinator heap per queued task, with no worker attached. */
    private void s1Queued() throws Exception {
        int tasks = quick ? 20_000 : 1_000_000;
        progress("S1", tasks + " tasks queued at a coordinator with no worker");
        Scale.Queued q = Scale.queuedHeap(tasks, quick ? 10 : 180);
        add("S1", "bytes_per_task", new double[] {q.bytesPerTask()}, null);
        ObjectNode d = detail("S1");
        d.put("queued_tasks", q.queued());
        d.put("coordinator_heap_empty_bytes", q.emptyHeapBytes());
        d.put("coordinator_heap_full_bytes", q.fullHeapBytes());
        d.put("submit_seconds", round(q.submitSeconds()));
    }

    /** S1, second part: the client's heap over a long lazy map, sampled after full GCs. */
    private void s1LazyMap(CohortExecutor cohort) throws Exception {
        long elements = quick ? 100_000 : 10_000_000;
        progress("S1", "client heap over a lazy map of " + elements + " elements");
        Scale.MapHeap m = Scale.lazyMapHeap(cohort, elements, quick ? 4 : 10, quick ? 8 : 120);
        add("S1", "client_heap_after_gc_mb", new double[] {m.minBytes() / 1e6, m.maxBytes() / 1e6}, null);
        ObjectNode d = detail("S1").putObject("client_map");
        d.put("elements", m.elements());
        d.put("elements_asked", elements);
        d.put("samples", m.samples());
        d.put("heap_min_bytes", m.minBytes());
        d.put("heap_max_bytes", m.maxBytes());
        d.put("seconds", round(m.seconds()));
    }

    /**
     * J1: W1 against a coordinator that journals (the daemon's default, {@code --journal batch}),
     * against W1 on a twin cluster without one, run in turns so both see the same machine: the
     * journal's cost.
     */
    private void j1() throws Exception {
        int tasks = w1Tasks();
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("cohort-bench-journal");
        try {
            progress("J1", tasks + " tasks, in turns on a coordinator with --journal batch in " + dir + " and on one without");
            double[] journal = new double[runs];
            double[] plain = new double[runs];
            try (Cluster withJournal = Cluster.start(2, "--journal", "batch", "--journal-dir", dir.toString());
                 Cluster without = Cluster.start(2);
                 CohortExecutor j = Cohort.connect(withJournal.target());
                 CohortExecutor p = Cohort.connect(without.target())) {
                Workloads.w1(j, tasks);   // warm-ups
                Workloads.w1(p, tasks);
                for (int i = 0; i < runs; i++) {
                    if (i % 2 == 0) {
                        journal[i] = Workloads.w1(j, tasks);
                        plain[i] = Workloads.w1(p, tasks);
                    } else {
                        plain[i] = Workloads.w1(p, tasks);
                        journal[i] = Workloads.w1(j, tasks);
                    }
                }
            }
            figures.add(new Figure("J1", "tasks_per_s", journal, plain, "w1_without_journal"));
            runsOf.put("J1", runs);
            detail("J1").put("journal", "batch");
        } finally {
            try (var files = java.nio.file.Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** S2: W1's load over simulated workers in one JVM, against W1 on 2 real workers. */
    private void s2() throws Exception {
        int workers = quick ? 20 : 500;
        int slots = 8;
        int tasks = w1Tasks();   // the same load as W1, so the two compare
        progress("S2", workers + " simulated workers x " + slots + " slots, " + tasks + " tasks per run");
        double[] xs = Scale.simulatedWorkers(workers, slots, tasks, runs);
        figures.add(new Figure("S2", "tasks_per_s", xs, w1OnTwoWorkers, "w1_on_2_real_workers"));
        runsOf.put("S2", runs);
        ObjectNode d = detail("S2");
        d.put("workers", workers);
        d.put("slots_per_worker", slots);
        d.put("tasks_per_run", tasks);
    }

    /** S3: the scheduler core under JMH; then the codec comparison (JdkCodec vs ForyCodec). */
    private void s3() throws Exception {
        progress("S3", "JMH: scheduler core" + (quick ? " (in this JVM, short iterations)" : ""));
        Micro.Score sched = Micro.scheduler(quick);
        add("S3", "events_per_s", sched.iterations(), null);
        progress("S3", "JMH: codecs, encode + decode");
        Map<String, Map<String, Micro.Score>> codecs = Micro.codecs(quick);
        ObjectNode c = detail("S3").putObject("codec");
        c.put("unit", "us_per_round_trip");
        ObjectNode times = c.putObject("us_per_round_trip");
        ObjectNode bytes = c.putObject("encoded_bytes");
        ObjectNode handles = c.putObject("handles");
        codecs.forEach((codec, byValue) -> {
            ObjectNode t = times.putObject(codec);
            ObjectNode b = bytes.putObject(codec);
            byValue.forEach((value, score) -> {
                t.put(value, round(median(score.iterations())));
                b.put(value, Micro.encodedBytes(codec, value));
            });
            ObjectNode h = handles.putObject(codec);
            Micro.handles(codec).forEach(h::put);
        });
        if (codecs.containsKey("jdk") && codecs.containsKey("fory")) {
            ObjectNode speedup = c.putObject("jdk_over_fory");
            codecs.get("jdk").forEach((value, score) -> speedup.put(value,
                    round(median(score.iterations()) / median(codecs.get("fory").get(value).iterations()))));
        }
    }

    private ObjectNode detail(String id) {
        return details.computeIfAbsent(id, k -> mapper.createObjectNode());
    }

    /**
     * W7 in fresh child JVMs: {@code seconds} is timed inside the child from just before
     * {@code Cohort.local(2)} to the first result; {@code seconds_from_launch} is timed here,
     * from starting the child JVM to reading that result, so it includes the JVM's own start.
     */
    private void w7() throws Exception {
        progress("W7", "Cohort.local(2) to the first result, in fresh JVMs");
        Measure2 none = () -> null;   // --quick: a fresh JVM is cold either way, so no warm-up run
        double[][] ours = repeat2(quick ? none : () -> startup("cohort"), () -> startup("cohort"));
        double[][] base = repeat2(quick ? none : () -> startup("jdk"), () -> startup("jdk"));
        add("W7", "seconds", ours[0], base[0]);
        add("W7", "seconds_from_launch", ours[1], base[1]);
    }

    /** Runs {@link LocalStartup} in a new JVM; returns {seconds inside it, seconds from launch}. */
    private static double[] startup(String mode) throws Exception {
        List<String> cmd = Cluster.java();
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), LocalStartup.class.getName(), mode));
        long start = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        double inside = -1;
        double fromLaunch = -1;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("seconds=") && inside < 0) {
                    fromLaunch = Workloads.seconds(start);
                    inside = Double.parseDouble(line.substring("seconds=".length()));
                }
            }
        } finally {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        if (inside < 0 || p.exitValue() != 0) {
            throw new IllegalStateException("W7: the child JVM (" + mode + ") failed, exit " + p.exitValue());
        }
        return new double[] {inside, fromLaunch};
    }

    interface Measure {
        double run() throws Exception;
    }

    interface Measure2 {
        double[] run() throws Exception;
    }

    /** W1 {@code runs} times, as a warm-up. */
    private static double[] w1Warm(Cluster cluster, Object executor, int tasks, int runs) throws Exception {
        double[] last = null;
        for (int i = 0; i < runs; i++) {
            last = w1WithCpu(cluster, executor, tasks);
        }
        return last;
    }

    /** W1's rate and the CPU it cost per task, in microseconds, over all the cluster's processes (or this JVM). */
    private static double[] w1WithCpu(Cluster cluster, Object executor, int tasks) throws Exception {
        java.util.function.LongSupplier cpu = cluster != null ? cluster::cpuNanos
                : ((com.sun.management.OperatingSystemMXBean)
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean())::getProcessCpuTime;
        long before = cpu.getAsLong();
        double rate = executor instanceof CohortExecutor c ? Workloads.w1(c, tasks)
                : Workloads.w1((ExecutorService) executor, tasks);
        return new double[] {rate, (cpu.getAsLong() - before) / 1e3 / tasks};
    }

    /** One warm-up run, then {@code runs} measured ones. */
    private double[] repeat(Measure m) throws Exception {
        return repeat(null, m);
    }

    /** {@link #repeat(Measure)}, the measured runs profiled when {@code profiled} is not null. */
    private double[] repeat(Profiled profiled, Measure m) throws Exception {
        return repeat2(profiled, () -> new double[] {m.run()}, () -> new double[] {m.run()})[0];
    }

    /** {@code warmup} once, then {@code m} {@code runs} times; returns [figure][run]. */
    private double[][] repeat2(Measure2 warmup, Measure2 m) throws Exception {
        return repeat2(null, warmup, m);
    }

    /** {@link #repeat2(Measure2, Measure2)}, the measured runs profiled when {@code profiled} is not null. */
    @SuppressWarnings("try")   // the profile is only started and stopped
    private double[][] repeat2(Profiled profiled, Measure2 warmup, Measure2 m) throws Exception {
        warmup.run();
        double[][] xs = null;
        try (AutoCloseable profile = profiled == null ? null : profiled.start()) {
            for (int i = 0; i < runs; i++) {
                double[] r = m.run();
                if (xs == null) {
                    xs = new double[r.length][runs];
                }
                for (int f = 0; f < r.length; f++) {
                    xs[f][i] = r[f];
                }
            }
        }
        return xs;
    }

    /** Starts profiling a workload's measured runs; closing what it returns stops and writes the profile. */
    interface Profiled {
        AutoCloseable start() throws Exception;
    }

    /** With {@code --profile}, how to profile {@code workload}'s measured runs on {@code cluster}; else null. */
    private Profiled profiled(String workload, Cluster cluster, int tasksPerRun) {
        return profiler == null ? null : () -> profiler.start(workload, cluster, (long) tasksPerRun * runs);
    }

    private static double[] ratios(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        return r;
    }

    private static double[] scale(double[] a, double k) {
        return Arrays.stream(a).map(x -> x * k).toArray();
    }

    private void add(String workload, String name, double[] cohort, double[] jdk) {

        figures.add(new Figure(workload, name, cohort, jdk));
        runsOf.put(workload, cohort.length);
    }

    private static void progress(String id, String what) {
        System.err.println("bench: " + id + ": " + what);
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double min(double[] xs) {
        return Arrays.stream(xs).min().orElseThrow();
    }

    static double max(double[] xs) {
        return Arrays.stream(xs).max().orElseThrow();
    }

    private void printTable(Set<String> ids) {
        String format = "%-4s %-24s %10s %-23s %10s %-23s %10s %8s";
        System.out.printf(format, "id", "figure", "cohort", "(min-max)", "baseline", "(min-max)", "cohort/base", "vs L0");
        if (peerResults != null) {
            System.out.printf(" %12s %12s %9s %9s", "process_pool", "mp_pool", "cohort/pp", "cohort/mp");
        }
        System.out.println();
        for (String id : ALL) {
            if (!ids.contains(id)) {
                continue;
            }
            List<Figure> coldThenWarm = new ArrayList<>();
            for (boolean warm : new boolean[] {false, true}) {
                figures.stream().filter(f -> f.workload().equals(id) && f.warm() == warm).forEach(coldThenWarm::add);
            }
            for (Figure f : coldThenWarm) {
                boolean base = f.jdk() != null;
                System.out.printf(format, id, f.name() + (f.warm() ? " warm" : ""), num(median(f.cohort())),
                        range(f.cohort()), base ? num(median(f.jdk())) : "-", base ? range(f.jdk()) : "",
                        base ? num(median(f.cohort()) / median(f.jdk())) : "-", num(vsL0(f)));
                if (peerResults != null && !f.warm()) {
                    double pp = peerFigure("process_pool", id, f.name());
                    double mp = peerFigure("mp_pool", id, f.name());
                    System.out.printf(" %12s %12s %9s %9s", num(pp), num(mp),
                            num(median(f.cohort()) / pp), num(median(f.cohort()) / mp));
                }
                System.out.println();
            }
        }
        System.out.printf("medians of %d run(s) after a warm-up%s; baseline = ThreadPoolExecutor(2) in this JVM"
                + " (W4: 1 vs 2 threads; W7: a new one in a fresh JVM; S2: W1 on 2 real workers)%n",
                runs, quick ? " (--quick: smaller sizes)" : "");
        if (figures.stream().anyMatch(Figure::warm)) {
            System.out.printf("warm = the same cluster after %s s more of that workload; cold = its first minutes%n",
                    num(warmSeconds));
        }
        if (figures.stream().anyMatch(f -> f.workload().equals("L0"))) {
            System.out.println("vs L0 = cohort / the bare gRPC relay's figure in this run (W2 against L0's W1 rate):"
                    + " below 1 is slower for rates, above 1 slower for times and CPU");
        }
        for (String id : List.of("W3", "L0")) {
            if (!ids.contains(id)) {
                continue;
            }
            for (boolean warm : new boolean[] {false, true}) {
                ObjectNode d = warm ? warmDetails.get(id) : details.get(id);
                JsonNode n = d == null ? null : d.get("ctx_switches_per_round_trip");
                if (n != null) {
                    StringBuilder line = new StringBuilder();
                    n.fields().forEachRemaining(e -> line.append(line.length() == 0 ? "" : ", ")
                            .append(e.getKey()).append(' ').append(num(e.getValue().asDouble())));
                    System.out.printf("%s%s context switches per round trip, by process: %s%n", id, warm ? " warm" : "", line);
                }
            }
        }
        if (peerResults != null) {
            System.out.println("process_pool = Python's ProcessPoolExecutor(2), mp_pool = multiprocessing.Pool(2), "
                    + "same workloads, medians of their own runs; a ratio above 1 is better for speeds, below 1 for times");
        }
        ObjectNode codec = details.containsKey("S3") ? (ObjectNode) details.get("S3").get("codec") : null;
        if (codec != null) {
            System.out.println();
            System.out.printf("%-20s %12s %12s %10s %10s %10s%n", "codec round trip", "jdk us", "fory us", "jdk/fory",
                    "jdk bytes", "fory bytes");
            JsonNode t = codec.get("us_per_round_trip");
            JsonNode b = codec.get("encoded_bytes");
            t.get("jdk").fieldNames().forEachRemaining(v -> System.out.printf("%-20s %12s %12s %10s %10s %10s%n", v,
                    num(t.get("jdk").get(v).asDouble()), num(t.get("fory").get(v).asDouble()),
                    num(t.get("jdk").get(v).asDouble() / t.get("fory").get(v).asDouble()),
                    b.get("jdk").get(v).asText(), b.get("fory").get(v).asText()));
            System.out.println("handles: jdk " + codec.get("handles").get("jdk") + ", fory " + codec.get("handles").get("fory"));
        }
    }

    /** {@code f}'s median over the median of the L0 figure it is set against; NaN when there is none in this run. */
    private double vsL0(Figure f) {
        String name = L0_FIGURE.get(f.workload() + "/" + f.name());
        if (name == null) {
            return Double.NaN;
        }
        return figures.stream().filter(l -> l.workload().equals("L0") && l.name().equals(name)).findFirst()
                .map(l -> median(f.cohort()) / median(l.cohort())).orElse(Double.NaN);
    }

    /** A peer's median for one figure, NaN when it has none (e.g. W7's seconds_from_launch). */
    private double peerFigure(String peer, String id, String name) {
        JsonNode n = peerResults.path(peer).path(id).path(name);
        return n.isNumber() ? n.asDouble() : Double.NaN;
    }

    private static String range(double[] xs) {
        return "(" + num(min(xs)) + "-" + num(max(xs)) + ")";
    }

    private static String num(double x) {
        if (Double.isNaN(x)) {
            return "-";
        }
        double a = Math.abs(x);
        return String.format(Locale.ROOT, a >= 100 ? "%.0f" : a >= 1 ? "%.2f" : "%.3f", x);
    }

    /** Whole numbers from 100 up, else 4 significant digits. */
    private static double round(double x) {
        return Math.abs(x) >= 100 ? Math.rint(x) : new BigDecimal(x).round(new MathContext(4)).doubleValue();
    }

    private void writeJson(Set<String> ids) throws IOException {
        ObjectNode root = mapper.createObjectNode();
        root.set("machine", machine(mapper));
        root.put("quick", quick);
        for (String id : ALL) {
            if (!ids.contains(id)) {
                continue;
            }
            ObjectNode w = root.putObject(id);
            ObjectNode min = mapper.createObjectNode();
            ObjectNode max = mapper.createObjectNode();
            ObjectNode baseline = mapper.createObjectNode();
            ObjectNode baseMin = mapper.createObjectNode();
            ObjectNode baseMax = mapper.createObjectNode();
            ObjectNode eachRun = mapper.createObjectNode();   // in order: how a figure moves as the JVMs warm
            String baseName = null;
            ObjectNode vsL0 = mapper.createObjectNode();
            for (Figure f : figures) {
                if (!f.workload().equals(id) || f.warm()) {
                    continue;
                }
                if (!Double.isNaN(vsL0(f))) {
                    vsL0.put(f.name(), round(vsL0(f)));
                }
                w.put(f.name(), round(median(f.cohort())));
                min.put(f.name(), round(min(f.cohort())));
                max.put(f.name(), round(max(f.cohort())));
                var values = eachRun.putArray(f.name());
                for (double x : f.cohort()) {
                    values.add(round(x));
                }
                if (f.jdk() != null) {
                    baseName = f.baseName();
                    baseline.put(f.name(), round(median(f.jdk())));
                    baseMin.put(f.name(), round(min(f.jdk())));
                    baseMax.put(f.name(), round(max(f.jdk())));
                }
            }
            w.set("min", min);
            w.set("max", max);
            w.put("runs", runsOf.get(id));
            w.set("each_run", eachRun);
            if (!baseline.isEmpty()) {
                baseline.put("of", baseName);
                baseline.set("min", baseMin);
                baseline.set("max", baseMax);
                w.set("baseline", baseline);
            }
            if (details.containsKey(id)) {
                w.setAll(details.get(id));
            }
            if (!vsL0.isEmpty()) {
                w.set("vs_l0", vsL0);
            }
            ObjectNode warm = warmJson(id);
            if (warm != null) {
                w.set("warm", warm);
            }
            if (peerResults != null && peerResults.path("process_pool").has(id)) {
                ObjectNode p = w.putObject("peers");
                for (String peer : Peers.NAMES) {
                    p.set(peer, peerResults.path(peer).path(id));
                    ObjectNode ratio = w.putObject("ratio_vs_" + peer);
                    for (Figure f : figures) {
                        double theirs = peerFigure(peer, id, f.name());
                        if (f.workload().equals(id) && !f.warm() && !Double.isNaN(theirs)) {
                            ratio.put(f.name(), round(median(f.cohort()) / theirs));
                        }
                    }
                }
            }
        }
        if (!failures.isEmpty()) {
            ObjectNode f = root.putObject("failures");
            failures.forEach(f::put);
        }
        if (peerResults != null) {
            root.put("peers_python", peerResults.path("python").asText());
            root.put("peers_start_method", peerResults.path("start_method").asText());
        }
        mapper.writeValue(output.toFile(), root);
    }

    /** A workload's warm figures as its cold ones are written (median, min, max, each run) and their ratios to L0; null if none. */
    private ObjectNode warmJson(String id) {
        List<Figure> warm = figures.stream().filter(f -> f.workload().equals(id) && f.warm()).toList();
        if (warm.isEmpty()) {
            return null;
        }
        ObjectNode w = mapper.createObjectNode();
        ObjectNode min = mapper.createObjectNode();
        ObjectNode max = mapper.createObjectNode();
        ObjectNode eachRun = mapper.createObjectNode();
        ObjectNode vsL0 = mapper.createObjectNode();
        for (Figure f : warm) {
            w.put(f.name(), round(median(f.cohort())));
            min.put(f.name(), round(min(f.cohort())));
            max.put(f.name(), round(max(f.cohort())));
            var values = eachRun.putArray(f.name());
            for (double x : f.cohort()) {
                values.add(round(x));
            }
            if (!Double.isNaN(vsL0(f))) {
                vsL0.put(f.name(), round(vsL0(f)));
            }
        }
        w.set("min", min);
        w.set("max", max);
        w.put("runs", warm.get(0).cohort().length);
        w.set("each_run", eachRun);
        if (warmDetails.containsKey(id)) {
            w.setAll(warmDetails.get(id));
        }
        if (!vsL0.isEmpty()) {
            w.set("vs_l0", vsL0);
        }
        return w;
    }

    private static ObjectNode machine(ObjectMapper mapper) {
        ObjectNode m = mapper.createObjectNode();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            m.put("memory_bytes", os.getTotalMemorySize());
        }
        m.put("jdk", System.getProperty("java.vm.vendor") + " " + Runtime.version());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("date", OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString());
        return m;
    }
}
