package io.cohort.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Context switches of whole processes, from Linux's {@code /proc/PID/task/*&#47;status}: the
 * voluntary (a thread blocked: a hand-off or a wait) plus the nonvoluntary (it was preempted)
 * of every thread. A thread that ends between two readings takes its count with it, so a
 * window should not start or stop threads; the harness's measured runs do not.
 */
final class ContextSwitches {
    private ContextSwitches() {
    }

    /** True where /proc has per-thread status files (Linux). */
    static boolean available() {
        return Files.isDirectory(Path.of("/proc/self/task"));
    }

    /** Each process's total so far, by the names of {@code pids}; empty when not {@link #available()}. */
    static Map<String, Long> read(Map<String, Long> pids) throws IOException {
        Map<String, Long> counts = new LinkedHashMap<>();
        if (!available()) {
            return counts;
        }
        for (Map.Entry<String, Long> e : pids.entrySet()) {
            counts.put(e.getKey(), ofProcess(e.getValue()));
        }
        return counts;
    }

    /** {@code after - before} per process, divided by {@code operations}. */
    static Map<String, Double> per(Map<String, Long> before, Map<String, Long> after, long operations) {
        Map<String, Double> per = new LinkedHashMap<>();
        before.forEach((name, b) -> {
            Long a = after.get(name);
            if (a != null) {
                per.put(name, (double) (a - b) / operations);
            }
        });
        return per;
    }

    private static long ofProcess(long pid) throws IOException {
        long total = 0;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks) {
                try {
                    for (String line : Files.readAllLines(task.resolve("status"))) {
                        if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
                            total += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        }
                    }
                } catch (java.nio.file.NoSuchFileException ended) {
                    // the thread ended while we looked
                }
            }
        }
        return total;
    }
}
