package io.cohort.bench;

import com.sun.tools.attach.VirtualMachine;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import one.profiler.AsyncProfiler;

/**
 * {@code bench --profile}: async-profiler's CPU sampling in every process of a {@link Cluster}
 * and in this JVM (the client) over a window of a workload, then per process
 * {@code DIR/<workload>/<process>.collapsed} and a readable {@code summary.txt} beside them.
 */
final class ClusterProfiler {
    /**
     * CPU time through perf_events' software clock, one sample per 1 ms of a thread's CPU: where
     * perf_events are refused (containers) async-profiler falls back to itimer, whose samples the
     * kernel's tick limits (a quarter of the CPU time on this kernel), hence {@link #cpuNanos}.
     */
    static final String EVENT = "event=cpu,interval=1ms";
    static final String CLIENT = "client";

    private final Path dir;
    private final String library;

    private ClusterProfiler(Path dir, String library) {
        this.dir = dir;
        this.library = library;
    }

    /** Extracts async-profiler's native library for this platform; one file for every JVM, so each loads it once. */
    static ClusterProfiler open(Path dir) throws IOException {
        String resource = platform() + "/libasyncProfiler.so";
        Path lib = Files.createTempFile("cohort-bench-asyncProfiler-", ".so");
        lib.toFile().deleteOnExit();   // the JVMs that loaded it keep their mapping
        try (InputStream in = AsyncProfiler.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("--profile: " + resource + " is missing from the class path (async-profiler's jar)");
            }
            Files.copy(in, lib, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.createDirectories(dir);
        return new ClusterProfiler(dir.toAbsolutePath(), lib.toString());
    }

    /** The folder of async-profiler's jar holding the library for this OS and CPU. */
    private static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch");
        if (os.startsWith("mac")) {
            return "macos";
        }
        if (os.startsWith("linux") && (arch.equals("amd64") || arch.equals("x86_64"))) {
            return "linux-x64";
        }
        if (os.startsWith("linux") && arch.equals("aarch64")) {
            return "linux-arm64";
        }
        throw new UnsupportedOperationException("--profile: async-profiler has no library for " + os + " on " + arch
                + " (it supports Linux x64 and arm64, and macOS)");
    }

    /** Starts sampling in {@code cluster}'s JVMs and this one; closing the window writes the profiles of {@code tasks} tasks. */
    Window start(String workload, Cluster cluster, long tasks) throws Exception {
        Map<String, ProcessHandle> processes = new LinkedHashMap<>();
        cluster.processes().forEach((name, p) -> processes.put(name, p.toHandle()));
        processes.put(CLIENT, ProcessHandle.current());
        Map<String, Long> cpuBefore = new LinkedHashMap<>();
        for (Map.Entry<String, ProcessHandle> e : processes.entrySet()) {
            send(e.getValue(), "start," + EVENT);
            cpuBefore.put(e.getKey(), cpuNanos(e.getValue()));
        }
        return new Window(workload, processes, cpuBefore, tasks);
    }

    /** Gives async-profiler a command in this JVM, or in another one by attaching (loading it there the first time). */
    private void send(ProcessHandle process, String command) throws Exception {
        if (process.equals(ProcessHandle.current())) {
            AsyncProfiler.getInstance(library).execute(command);
            return;
        }
        VirtualMachine vm = VirtualMachine.attach(String.valueOf(process.pid()));
        try {
            vm.loadAgentPath(library, command);
        } finally {
            vm.detach();
        }
    }

    /** The CPU time the OS has counted for a process: the figure samples only split, as a sampler can miss ticks. */
    private static long cpuNanos(ProcessHandle process) {
        return process.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    /** The measured runs of one workload, sampled until closed. */
    final class Window implements AutoCloseable {
        private final String workload;
        private final Map<String, ProcessHandle> processes;
        private final Map<String, Long> cpuBefore;
        private final long tasks;

        private Window(String workload, Map<String, ProcessHandle> processes, Map<String, Long> cpuBefore, long tasks) {
            this.workload = workload;
            this.processes = processes;
            this.cpuBefore = cpuBefore;
            this.tasks = tasks;
        }

        /** Stops sampling everywhere, writes each process's collapsed stacks, then the summary, and prints it. */
        @Override
        public void close() throws Exception {
            Path out = Files.createDirectories(dir.resolve(workload));
            StringBuilder blocks = new StringBuilder();
            double totalMs = 0;
            List<String> names = new ArrayList<>(processes.keySet());
            Collections.reverse(names);   // this JVM first, as it started last: its profile holds no attaching
            for (String name : names) {
                double cpuMs = (cpuNanos(processes.get(name)) - cpuBefore.get(name)) / 1e6;
                Path file = out.resolve(name + ".collapsed");
                send(processes.get(name), "stop,collapsed,file=" + file);
                totalMs += cpuMs;
                blocks.insert(0, System.lineSeparator() + ProfileSummary.read(file).text(name, cpuMs));
            }
            String summary = String.format(Locale.ROOT, "%s: CPU profile of the measured runs (async-profiler, %s)%n"
                            + "all processes: %.0f ms of CPU, %.1f us per task over %d tasks%n",
                    workload, EVENT, totalMs, totalMs * 1e3 / tasks, tasks) + blocks;
            Files.writeString(out.resolve("summary.txt"), summary);
            System.out.print(summary);
        }
    }
}
