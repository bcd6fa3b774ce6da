package io.cohort.bench;

import io.cohort.bench.l0.RelayMain;
import io.cohort.bench.l0.RelayWorkerMain;
import io.cohort.client.Cohort;
import io.cohort.client.CohortException;
import io.cohort.client.CohortExecutor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A coordinator and workers as separate JVMs on loopback, started from this JVM's class path;
 * or, for L0, a bare gRPC relay and its workers started the same way.
 */
final class Cluster implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+)");
    /** By name, e.g. {@code CoordinatorMain-0}, {@code WorkerMain-1}, in the order started. */
    private final Map<String, Process> processes = new LinkedHashMap<>();
    /** The same processes by role: "coordinator", "worker-1", "relay", ... */
    private final Map<String, Process> labels = new LinkedHashMap<>();
    /** Ends the JVMs if the harness itself is stopped (Ctrl-C, SIGTERM) before {@link #close}. */
    private final Thread orphanGuard = new Thread(this::killAll, "bench-cluster-guard");
    private String target;

    private Cluster() {
        Runtime.getRuntime().addShutdownHook(orphanGuard);
    }

    private synchronized void killAll() {
        processes.values().forEach(Process::destroyForcibly);
    }

    /** A coordinator given {@code coordinatorArgs} beyond its port, then {@code workers} real workers of 1 slot. */
    static Cluster start(int workers, String... coordinatorArgs) throws IOException {
        Cluster c = new Cluster();
        try {
            List<String> args = new ArrayList<>(List.of("--port", "0"));
            args.addAll(List.of(coordinatorArgs));
            args.addAll(words(COORDINATOR_ARGS));
            c.target = c.launchServer("coordinator", "io.cohort.cli.CoordinatorMain", args.toArray(String[]::new));
            for (int i = 1; i <= workers; i++) {
                List<String> workerArgs = new ArrayList<>(List.of("--coordinator", c.target, "--id", "bench-" + i,
                        "--slots", "1", "--quiet"));
                workerArgs.addAll(words(WORKER_ARGS));
                c.launch("worker-" + i, "io.cohort.cli.WorkerMain", workerArgs.toArray(String[]::new))
                        .getInputStream().close();
            }
            awaitWorkers(c.target, workers);
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /**
     * L0, the bare gRPC relay: {@code workers} relay workers, then the relay in front of them,
     * each a JVM of its own like a cluster's; {@link #target} is the relay's address.
     */
    static Cluster relay(int workers) throws IOException {
        Cluster c = new Cluster();
        try {
            List<String> targets = new ArrayList<>();
            for (int i = 1; i <= workers; i++) {
                targets.add(c.launchServer("worker-" + i, RelayWorkerMain.class.getName()));
            }
            c.target = c.launchServer("relay", RelayMain.class.getName(), targets.toArray(String[]::new));
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /**
     * Starts a JVM that prints "listening on HOST:PORT" when it serves; returns that address
     * once printed, and keeps reading its output so a chatty process never blocks on a full pipe.
     */
    private String launchServer(String label, String main, String... args) throws IOException {
        Process p = launch(label, main, args);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String address = null;
        String line;
        while (address == null && (line = out.readLine()) != null) {
            Matcher m = LISTENING.matcher(line);
            if (m.find()) {
                address = m.group(1);
            }
        }
        if (address == null) {
            throw new IOException("the " + label + " did not start");
        }
        Thread drain = new Thread(() -> {
            try {
                while (out.readLine() != null) {
                    // discard
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "bench-" + label + "-out");
        drain.setDaemon(true);
        drain.start();
        return address;
    }

    static void awaitWorkers(String target, int workers) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (CohortExecutor probe = connect(target, deadline)) {
            while (probe.clusterInfo().workers().size() < workers) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("workers did not attach within 60 s");
                }
                pause();   // JVMs take a moment to start
            }
        }
    }

    /** Connects, trying again until {@code deadline}: on a loaded machine a new coordinator JVM may answer late. */
    private static CohortExecutor connect(String target, long deadline) {
        for (int attempt = 1; ; attempt++) {
            try {
                return Cohort.connect(target);
            } catch (CohortException e) {
                if (System.nanoTime() > deadline || attempt >= 5) {
                    throw e;
                }
                pause();
            }
        }
    }

    private static void pause() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Extra options for the cluster's JVMs, e.g. to profile them; "{name}" becomes each one's name. */
    private static final String JVM_OPTIONS = System.getProperty("bench.jvmOptions", "");
    /** Extra arguments for the coordinator, e.g. "--http-port=8080" to measure with the dashboard open. */
    private static final String COORDINATOR_ARGS = System.getProperty("bench.coordinatorArgs", "");
    /** Extra arguments for the workers, to try worker settings. */
    private static final String WORKER_ARGS = System.getProperty("bench.workerArgs", "");

    /** The words of a property's value, split at spaces. */
    private static List<String> words(String value) {
        List<String> out = new ArrayList<>();
        for (String a : value.split(" ")) {
            if (!a.isBlank()) {
                out.add(a);
            }
        }
        return out;
    }

    /** This JVM's java, with what a JVM running netty needs on it. */
    static List<String> java() {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (Runtime.version().feature() >= 22) {
            cmd.add("--enable-native-access=ALL-UNNAMED");   // netty's native transport; else a warning per JVM
        }
        return cmd;
    }

    /** Starts a JVM on this class path, known by {@code label} in {@link #pids}; {@link #close} ends it. */
    Process launch(String label, String main, String... args) throws IOException {
        String name = main.substring(main.lastIndexOf('.') + 1) + "-" + processes.size();
        List<String> cmd = java();
        for (String option : JVM_OPTIONS.split(" ")) {
            if (!option.isBlank()) {
                cmd.add(option.replace("{name}", name));
            }
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        synchronized (this) {
            processes.put(name, p);
            labels.put(label, p);
        }
        return p;
    }

    /** Each process's id by its role ("coordinator", "relay", "worker-1", ...), in the order started. */
    Map<String, Long> pids() {
        Map<String, Long> pids = new LinkedHashMap<>();
        labels.forEach((label, p) -> pids.put(label, p.pid()));
        return pids;
    }

    Map<String, Process> processes() {
        return Collections.unmodifiableMap(processes);
    }

    String target() {
        return target;
    }

    /**
     * CPU time used so far by the cluster's processes and this JVM, in nanoseconds: a cost per
     * task that, unlike a rate, the other load on a shared machine barely changes.
     */
    long cpuNanos() {
        long total = ((com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
        for (Process p : processes.values()) {
            total += p.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L);
        }
        return total;
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(orphanGuard);
        } catch (IllegalStateException exiting) {
            // the JVM is exiting: the guard is running or about to
        }
        List<Process> newestFirst;
        synchronized (this) {
            newestFirst = new ArrayList<>(processes.values());
        }
        Collections.reverse(newestFirst);
        for (Process p : newestFirst) {
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
