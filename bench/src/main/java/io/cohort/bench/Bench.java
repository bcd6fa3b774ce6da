package io.cohort.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
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
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Runs the benchmark workloads of BENCH.md against a real local cluster.")
public final class Bench implements Callable<Integer> {
    static final List<String> ALL = List.of("W1", "W2", "W3", "W4", "W5", "W6", "W7", "S1", "S2", "S3");
    static final Set<String> NOT_MEASURED = Set.of("W6", "S1", "S2", "S3");

    @Option(names = "--only", split = ",", paramLabel = "ID", description = "Workloads to run, e.g. W1,W3 (default: all).")
    List<String> only = ALL;

    @Option(names = "--quick", description = "A smoke run: smaller workloads, one run each after the warm-up.")
    boolean quick;

    @Option(names = "--output", paramLabel = "PATH", description = "Where to write the JSON (default: ${DEFAULT-VALUE}).")
    Path output = Path.of("bench-results.json");

    /** One figure of a workload: each run's value on Cohort and, where one applies, on the JDK. */
    record Figure(String workload, String name, double[] cohort, double[] jdk) {
    }

    private final List<Figure> figures = new ArrayList<>();
    private final Map<String, Integer> runsOf = new LinkedHashMap<>();
    private int runs;

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
        runs = quick ? 1 : 3;

        if (ids.contains("W7")) {
            w7();   // first, while no cluster runs
        }
        if (ids.contains("W1") || ids.contains("W2") || ids.contains("W3") || ids.contains("W4") || ids.contains("W5")) {
            onCluster(ids);
        }

        printTable(ids);
        writeJson(ids);
        System.out.println("wrote " + output.toAbsolutePath());
        return 0;
    }

    private void onCluster(Set<String> ids) throws Exception {
        double[] w4TwoWorkers = null;
        long spinIterations = 0;
        int w4Tasks = 8;
        ExecutorService jdk = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
        try {
            try (Cluster cluster = Cluster.start(2);
                 CohortExecutor cohort = Cohort.connect(cluster.target())) {
                if (ids.contains("W1")) {
                    int tasks = quick ? 2_000 : 20_000;
                    progress("W1", tasks + " tasks");
                    add("W1", "tasks_per_s", repeat(() -> Workloads.w1(cohort, tasks)),
                            repeat(() -> Workloads.w1(jdk, tasks)));
                }
                if (ids.contains("W2")) {
                    List<Long> inputs = Workloads.w2Inputs(quick ? 20_000 : 200_000);
                    progress("W2", inputs.size() + " tasks through map");
                    add("W2", "tasks_per_s", repeat(() -> Workloads.w2(cohort, inputs)),
                            repeat(() -> Workloads.w2(jdk, inputs)));
                }
                if (ids.contains("W3")) {
                    int warmup = quick ? 2_000 : 20_000;
                    int samples = quick ? 500 : 2_000;
                    progress("W3", warmup + " warm-up round trips, then " + samples + " per run");
                    double[][] ours = repeat2(() -> Workloads.w3(cohort, warmup), () -> Workloads.w3(cohort, samples));
                    double[][] base = repeat2(() -> Workloads.w3(jdk, warmup), () -> Workloads.w3(jdk, samples));
                    add("W3", "p50_us", ours[0], base[0]);
                    add("W3", "p99_us", ours[1], base[1]);
                }
                if (ids.contains("W5")) {
                    int tasks = quick ? 20 : 200;
                    byte[] payload = Workloads.w5Payload();
                    progress("W5", tasks + " tasks of 1 MiB in, 1 MiB out");
                    add("W5", "mb_per_s", repeat(() -> Workloads.w5(cohort, tasks, payload)),
                            repeat(() -> Workloads.w5(jdk, tasks, payload)));
                }
                if (ids.contains("W4")) {
                    double taskSeconds = quick ? 0.05 : 0.25;
                    spinIterations = Workloads.calibrateSpin(taskSeconds);
                    long n = spinIterations;
                    progress("W4", w4Tasks + " tasks of ~" + taskSeconds + " s (" + n + " iterations); 2 workers");
                    w4TwoWorkers = repeat(() -> Workloads.w4(cohort, w4Tasks, n));
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
     * W7 in fresh child JVMs: {@code seconds} is timed inside the child from just before
     * {@code Cohort.local(2)} to the first result; {@code seconds_from_launch} is timed here,
     * from starting the child JVM to reading that result, so it includes the JVM's own start.
     */
    private void w7() throws Exception {
        progress("W7", "Cohort.local(2) to the first result, in fresh JVMs");
        double[][] ours = repeat2(() -> startup("cohort"), () -> startup("cohort"));
        double[][] base = repeat2(() -> startup("jdk"), () -> startup("jdk"));
        add("W7", "seconds", ours[0], base[0]);
        add("W7", "seconds_from_launch", ours[1], base[1]);
    }

    /** Runs {@link LocalStartup} in a new JVM; returns {seconds inside it, seconds from launch}. */
    private static double[] startup(String mode) throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LocalStartup.class.getName(), mode);
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

    /** One warm-up run, then {@code runs} measured ones. */
    private double[] repeat(Measure m) throws Exception {
        m.run();
        double[] xs = new double[runs];
        for (int i = 0; i < runs; i++) {
            xs[i] = m.run();
        }
        return xs;
    }

    /** {@code warmup} once, then {@code m} {@code runs} times; returns [figure][run]. */
    private double[][] repeat2(Measure2 warmup, Measure2 m) throws Exception {
        warmup.run();
        double[][] xs = null;
        for (int i = 0; i < runs; i++) {
            double[] r = m.run();
            if (xs == null) {
                xs = new double[r.length][runs];
            }
            for (int f = 0; f < r.length; f++) {
                xs[f][i] = r[f];
            }
        }
        return xs;
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
        String format = "%-4s %-20s %10s %-23s %10s %-23s %10s%n";
        System.out.printf(format, "id", "figure", "cohort", "(min-max)", "jdk-tpe", "(min-max)", "cohort/jdk");
        for (String id : ALL) {
            if (!ids.contains(id)) {
                continue;
            }
            if (NOT_MEASURED.contains(id)) {
                System.out.printf("%-4s %s%n", id, "not measured yet");
                continue;
            }
            for (Figure f : figures) {
                if (!f.workload().equals(id)) {
                    continue;
                }
                boolean base = f.jdk() != null;
                System.out.printf(format, id, f.name(), num(median(f.cohort())), range(f.cohort()),
                        base ? num(median(f.jdk())) : "-", base ? range(f.jdk()) : "",
                        base ? num(median(f.cohort()) / median(f.jdk())) : "-");
            }
        }
        System.out.printf("medians of %d run(s) after a warm-up%s; jdk-tpe = ThreadPoolExecutor(2) in this JVM"
                + " (W4: 1 vs 2 threads; W7: a new one in a fresh JVM)%n", runs, quick ? " (--quick: smaller sizes)" : "");
    }

    private static String range(double[] xs) {
        return "(" + num(min(xs)) + "-" + num(max(xs)) + ")";
    }

    private static String num(double x) {
        double a = Math.abs(x);
        return String.format(Locale.ROOT, a >= 100 ? "%.0f" : a >= 1 ? "%.2f" : "%.3f", x);
    }

    /** Whole numbers from 100 up, else 4 significant digits. */
    private static double round(double x) {
        return Math.abs(x) >= 100 ? Math.rint(x) : new BigDecimal(x).round(new MathContext(4)).doubleValue();
    }

    private void writeJson(Set<String> ids) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        root.set("machine", machine(mapper));
        root.put("quick", quick);
        for (String id : ALL) {
            if (!ids.contains(id) || NOT_MEASURED.contains(id)) {
                continue;
            }
            ObjectNode w = root.putObject(id);
            ObjectNode min = mapper.createObjectNode();
            ObjectNode max = mapper.createObjectNode();
            ObjectNode baseline = mapper.createObjectNode();
            ObjectNode baseMin = mapper.createObjectNode();
            ObjectNode baseMax = mapper.createObjectNode();
            for (Figure f : figures) {
                if (!f.workload().equals(id)) {
                    continue;
                }
                w.put(f.name(), round(median(f.cohort())));
                min.put(f.name(), round(min(f.cohort())));
                max.put(f.name(), round(max(f.cohort())));
                if (f.jdk() != null) {
                    baseline.put(f.name(), round(median(f.jdk())));
                    baseMin.put(f.name(), round(min(f.jdk())));
                    baseMax.put(f.name(), round(max(f.jdk())));
                }
            }
            w.set("min", min);
            w.set("max", max);
            w.put("runs", runsOf.get(id));
            if (!baseline.isEmpty()) {
                baseline.set("min", baseMin);
                baseline.set("max", baseMax);
                w.set("baseline", baseline);
            }
        }
        ArrayNode skipped = root.putArray("not_measured");
        ids.stream().filter(NOT_MEASURED::contains).forEach(skipped::add);
        mapper.writeValue(output.toFile(), root);
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
