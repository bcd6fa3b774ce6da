package io.cohort.client;

import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The embedded cluster of {@link Cohort#local}: a coordinator in this JVM on a loopback port
 * and worker JVMs started from this JVM's java binary and class path. A worker that dies is
 * replaced (unlike Python's pools, which break); workers are stopped on close, on this JVM's
 * exit, and (through {@code --parent-pid}) when this JVM is killed.
 */
final class LocalCluster implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(LocalCluster.class.getName());
    private static final String WORKER_MAIN = "io.cohort.worker.WorkerMain";

    private final LocalClusterConfig config;
    private final CoordinatorServer coordinator;
    private final int slots;
    private final List<Process> workers = new ArrayList<>();   // guarded by itself
    private final AtomicInteger launched = new AtomicInteger();
    private final Thread exitHook = new Thread(this::killWorkers, "cohort-local-exit");
    private volatile boolean closing;

    private LocalCluster(LocalClusterConfig config, CoordinatorServer coordinator) {
        this.config = config;
        this.coordinator = coordinator;
        this.slots = config.slotsPerWorkerOrDefault();
    }

    static LocalCluster start(LocalClusterConfig config) {
        CoordinatorServer coordinator;
        try {
            coordinator = CoordinatorServer.start(CoordinatorConfig.builder().host("127.0.0.1").port(0).build());
        } catch (IOException e) {
            throw new CohortException("cannot start the local coordinator: " + e.getMessage(), e);
        }
        LocalCluster cluster = new LocalCluster(config, coordinator);
        Runtime.getRuntime().addShutdownHook(cluster.exitHook);
        try {
            for (int i = 0; i < config.workers(); i++) {
                cluster.launch();
            }
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    String target() {
        return coordinator.target();
    }

    /** Waits until the configured number of workers are attached, within the start timeout. */
    void awaitWorkers(CohortExecutor executor) {
        Duration timeout = config.startTimeout();
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 5;
        while (true) {
            long active = executor.clusterInfo().workers().stream()
                    .filter(w -> w.state() == WorkerState.ACTIVE).count();
            if (active >= config.workers()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new CohortException("only " + active + " of " + config.workers()
                        + " local workers attached within " + timeout);
            }
            try {
                Thread.sleep(pause);   // worker JVMs take a few hundred ms to start
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CohortException("interrupted while waiting for local workers", e);
            }
            pause = Math.min(50, pause * 2);
        }
    }

    private void launch() {
        String id = "local-" + launched.incrementAndGet();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(config.jvmOptions());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), WORKER_MAIN,
                "--coordinator", coordinator.target(), "--id", id, "--slots", Integer.toString(slots),
                "--parent-pid", Long.toString(ProcessHandle.current().pid()), "--quiet"));
        config.deserializationFilter().ifPresent(pattern -> command.addAll(List.of("--deserialization-filter", pattern)));
        Process process;
        try {
            process = new ProcessBuilder(command).inheritIO().start();
        } catch (IOException e) {
            throw new CohortException("cannot start a local worker JVM: " + e.getMessage(), e);
        }
        synchronized (workers) {
            workers.add(process);
        }
        process.onExit().thenRun(() -> onExit(id, process));
    }

    private void onExit(String id, Process process) {
        synchronized (workers) {
            workers.remove(process);
        }
        if (closing || !config.replaceLostWorkers()) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "local worker " + id + " (pid " + process.pid()
                + ") exited with " + process.exitValue() + "; starting a replacement");
        try {
            launch();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "cannot replace local worker " + id, e);
        }
    }

    @Override
    public void close() {
        closing = true;
        List<Process> running;
        synchronized (workers) {
            running = List.copyOf(workers);
        }
        for (Process p : running) {
            p.destroy();   // SIGTERM: the worker drains and exits
        }
        for (Process p : running) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        coordinator.close();
        try {
            Runtime.getRuntime().removeShutdownHook(exitHook);
        } catch (IllegalStateException alreadyExiting) {
            // the hook is running or has run
        }
    }

    private void killWorkers() {
        closing = true;
        synchronized (workers) {
            workers.forEach(Process::destroyForcibly);
        }
    }
}
