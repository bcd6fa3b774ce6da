package io.cohort.client;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Worker daemons started by a test as real JVMs, and killed (by pid) when it ends. */
final class WorkerProcesses implements AutoCloseable {
    private final List<Process> started = new ArrayList<>();

    /** Starts {@code io.cohort.cli.WorkerMain} with one slot and the given extra flags. */
    Process start(String target, String id, String... flags) throws java.io.IOException {
        return start(List.of(), target, id, flags);
    }

    /** As {@link #start(String, String, String...)}, with options for the worker's JVM. */
    Process start(List<String> jvmOptions, String target, String id, String... flags) throws java.io.IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.cohort.cli.WorkerMain",
                "--coordinator", target, "--id", id, "--slots", "1", "--quiet",
                "--parent-pid", Long.toString(ProcessHandle.current().pid())));
        command.addAll(List.of(flags));
        Process p = new ProcessBuilder(command).inheritIO().start();
        started.add(p);
        return p;
    }

    @Override
    public void close() {
        for (Process p : started) {
            p.destroyForcibly();
        }
    }
}
