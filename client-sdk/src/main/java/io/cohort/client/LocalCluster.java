package io.cohort.client;

import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import io.cohort.proto.v1.StatusResponse;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * The embedded cluster of {@link Cohort#local}: a coordinator in this JVM on a loopback port
 * and worker JVMs started with this JVM's class path, on this JVM's JDK or the configured one. A
 * worker that dies is replaced (unlike Python's pools, which break); workers are stopped on
 * close, on this JVM's exit, and (through {@code --parent-pid}) when this JVM is killed.
 *
 * <p>Start-up is most of what a user of {@code Cohort.local} waits for, so: {@link #awaitFirstWorker}
 * returns as soon as one worker has attached (tasks queue at the coordinator until the others do),
 * woken by the coordinator's welcome rather than by polling; worker JVMs share class data through
 * a {@link ClassDataArchive} (the JDK's AOT cache on 25 and later); and {@link #close} kills idle
 * workers instead of draining them.
 *
 * <p>Loopback is not trusted: the coordinator requires a client and a worker token, random for
 * each cluster, and each worker gets its token on stdin (never on its command line, where any
 * local user could read it).
 */
final class LocalCluster implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(LocalCluster.class.getName());
    private static final String WORKER_MAIN = "io.cohort.worker.EmbeddedWorkerMain";
    /**
     * Worker JVM options before the user's (which win). Netty's allocator JFR events cost a
     * worker about a sixth of its start (the JFR event classes it registers) and nothing reads them.
     */
    private static final List<String> WORKER_OPTIONS = List.of("-Dio.grpc.netty.shaded.io.netty.jfr.enabled=false");
    /** Netty loads its native transport; from JDK 24 that prints a warning on every worker's stderr unless allowed. */
    private static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
    private static final int NATIVE_ACCESS_FEATURE = 22;
    /** How long close waits for a worker that drains, and for the one writing the class-data archive. */
    private static final long DRAIN_WAIT_MS = 5_000;
    private static final long DUMP_WAIT_MS = 60_000;

    /** A worker JVM; {@code dumpsTo} is where it writes the class-data archive as it exits, or null. */
    private record Worker(String id, Process process, boolean mapsArchive, Path dumpsTo) {}

    private final LocalClusterConfig config;
    private final CoordinatorServer coordinator;
    private final Tokens tokens;
    private final int slots;
    private final JavaRuntime jdk;                 // what the workers run on
    private final List<String> workerOptions;
    private final String classPath;                // the workers' -cp
    private final ClassDataArchive archive;        // null: no sharing
    /** Extra JVM options of the n-th worker launched (from 1): for tests. */
    private final IntFunction<List<String>> extraOptions;
    private final List<Worker> workers = new ArrayList<>();   // guarded by itself
    private volatile Path sharedArchive;           // the archive workers map; null: none (yet)
    private boolean dumping;                       // a worker writes the archive; guarded by workers
    private final AtomicInteger launched = new AtomicInteger();
    private final Thread exitHook = new Thread(this::killWorkers, "cohort-local-exit");
    private volatile boolean closing;

    private final Object attachLock = new Object();
    private final Set<String> attached = new HashSet<>();   // guarded by attachLock
    private int failedStarts;                                // guarded by attachLock
    private String startFailure;                             // guarded by attachLock

    /** This cluster's random tokens. */
    private record Tokens(String client, String worker) {
        static Tokens random() {
            return new Tokens(token(), token());
        }

        private static String token() {
            byte[] b = new byte[32];
            RANDOM.nextBytes(b);
            return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private LocalCluster(LocalClusterConfig config, CoordinatorServer coordinator, Tokens tokens,
                         IntFunction<List<String>> extraOptions) {
        this.config = config;
        this.tokens = tokens;
        this.extraOptions = extraOptions;
        this.coordinator = coordinator;
        this.slots = config.slotsPerWorkerOrDefault();
        this.jdk = config.javaHome().map(JavaRuntime::of).orElseGet(JavaRuntime::current);
        this.workerOptions = workerOptions(config, jdk);
        this.classPath = classPath(config);
        this.archive = config.classDataSharing()
                ? ClassDataArchive.of(config.cacheDirectory(), jdk, classPath,
                        workerOptions).orElse(null)
                : null;
        this.sharedArchive = archive == null ? null : archive.find().orElse(null);
        coordinator.onWorkerWelcomed(this::welcomed);
    }

    static LocalCluster start(LocalClusterConfig config) {
        return start(config, n -> List.of());
    }

    static LocalCluster start(LocalClusterConfig config, IntFunction<List<String>> extraOptions) {
        CoordinatorServer coordinator;
        Tokens tokens = Tokens.random();
        try {
            coordinator = CoordinatorServer.start(CoordinatorConfig.builder().host("127.0.0.1").port(0)
                    .tokens(tokens.client(), tokens.worker()).build());
        } catch (IOException e) {
            throw new CohortException("cannot start the local coordinator: " + e.getMessage(), e);
        }
        LocalCluster cluster = new LocalCluster(config, coordinator, tokens, extraOptions);
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

    /** The token the coordinator requires of clients: this JVM's executor, and any other client it makes. */
    String clientToken() {
        return tokens.client();
    }

    /** The slots of the configured workers, attached or not: what map's automatic chunking divides by. */
    int totalSlots() {
        return config.workers() * slots;
    }

    /**
     * Waits until a worker has attached, within the start timeout; fails at once when every
     * worker JVM exited before attaching (e.g. bad {@code jvmOptions}).
     */
    void awaitFirstWorker() {
        Duration timeout = config.startTimeout();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (attachLock) {
            while (attached.isEmpty()) {
                if (startFailure != null) {
                    throw new CohortException(startFailure);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new CohortException("no local worker attached within " + timeout);
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(attachLock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CohortException("interrupted while waiting for local workers", e);
                }
            }
        }
    }

    /** On the coordinator's scheduler thread: must not block. */
    private void welcomed(String workerId) {
        synchronized (attachLock) {
            attached.add(workerId);
            attachLock.notifyAll();
        }
    }

    /** The workers' class path: as configured (each entry must exist), else the application's as found now. */
    private static String classPath(LocalClusterConfig config) {
        List<Path> entries;
        if (config.classPath().isPresent()) {
            entries = config.classPath().get();
            for (Path p : entries) {
                if (!Files.exists(p)) {
                    throw new CohortException("LocalClusterConfig.classPath names " + p + ", which does not exist");
                }
            }
        } else {
            entries = ApplicationClassPath.find(Thread.currentThread().getContextClassLoader(),
                    config.cacheDirectory().resolve("classpath"));
        }
        StringJoiner joined = new StringJoiner(File.pathSeparator);
        entries.forEach(p -> joined.add(p.toString()));
        return joined.toString();
    }

    private static List<String> workerOptions(LocalClusterConfig config, JavaRuntime jdk) {
        List<String> options = new ArrayList<>(WORKER_OPTIONS);
        if (jdk.feature() >= NATIVE_ACCESS_FEATURE) {
            options.add(NATIVE_ACCESS);
        }
        options.addAll(config.jvmOptions());
        return List.copyOf(options);
    }

    private void launch() {
        int n = launched.incrementAndGet();
        String id = "local-" + n;
        List<String> command = new ArrayList<>();
        command.add(jdk.javaBinary().toString());
        Path mapped = sharedArchive;
        Path dumpsTo = null;
        if (mapped != null) {
            command.addAll(archive.useOptions(mapped));
        } else if (archive != null) {
            synchronized (workers) {
                if (!dumping) {
                    dumping = true;
                    dumpsTo = archive.newDumpPath();
                }
            }
            if (dumpsTo != null) {
                command.addAll(archive.dumpOptions(dumpsTo));
            }
        }
        command.addAll(workerOptions);
        command.addAll(extraOptions.apply(n));
        command.addAll(List.of("-cp", classPath, WORKER_MAIN,
                "--coordinator", coordinator.target(), "--id", id, "--slots", Integer.toString(slots),
                "--parent-pid", Long.toString(ProcessHandle.current().pid()), "--quiet", "--token-stdin"));
        config.deserializationFilter().ifPresent(pattern -> command.addAll(List.of("--deserialization-filter", pattern)));
        Process process;
        try {
            ProcessBuilder builder = new ProcessBuilder(command).inheritIO().redirectInput(ProcessBuilder.Redirect.PIPE);
            boolean writesAot = dumpsTo != null && archive.aot();
            if (writesAot) {
                builder.redirectError(ProcessBuilder.Redirect.PIPE);
            }
            process = builder.start();
            try (OutputStream stdin = process.getOutputStream()) {
                stdin.write((tokens.worker() + "\n").getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                process.destroyForcibly();
                throw e;
            }
            if (writesAot) {
                AotNotices.filter(process.getErrorStream(), System.err, "cohort-" + id + "-stderr");
            }
        } catch (IOException e) {
            if (dumpsTo != null) {
                synchronized (workers) {
                    dumping = false;
                }
            }
            throw new CohortException("cannot start a local worker JVM (" + jdk.javaBinary() + "): " + e.getMessage(), e);
        }
        Worker w = new Worker(id, process, mapped != null, dumpsTo);
        synchronized (workers) {
            workers.add(w);
        }
        process.onExit().thenRun(() -> onExit(w));
    }

    private void onExit(Worker w) {
        synchronized (workers) {
            workers.remove(w);
            if (w.dumpsTo() != null && !closing) {
                dumping = false;   // the next worker launched writes it
            }
        }
        if (closing) {
            return;   // close() publishes the archive
        }
        if (w.dumpsTo() != null) {
            ClassDataArchive.discard(w.dumpsTo());   // written at an unclean exit: not trusted
        }
        int status = w.process().exitValue();
        boolean everAttached;
        boolean anyAttached;
        synchronized (attachLock) {
            everAttached = attached.contains(w.id());
            anyAttached = !attached.isEmpty();
        }
        if (!everAttached && w.mapsArchive() && w.process().exitValue() != 0) {
            // The archive may be what broke it: drop it and start without one.
            LOG.log(System.Logger.Level.WARNING, "local worker " + w.id() + " exited with " + status
                    + " before attaching; starting a replacement without the class-data archive " + sharedArchive);
            Path bad = sharedArchive;
            sharedArchive = null;
            if (bad != null) {
                ClassDataArchive.discard(bad);
            }
            relaunch(w);
            return;
        }
        if (!everAttached && !anyAttached) {
            // Not replaced: another would fail the same way before any worker has shown the setup works.
            synchronized (attachLock) {
                failedStarts++;
                if (failedStarts >= config.workers()) {
                    startFailure = "every local worker JVM exited before attaching (the last with status "
                            + status + "; its output is above); worker JVM options: " + config.jvmOptions();
                    attachLock.notifyAll();
                }
            }
            return;
        }
        if (!config.replaceLostWorkers()) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "local worker " + w.id() + " (pid " + w.process().pid()
                + ") exited with " + status + "; starting a replacement");
        relaunch(w);
    }

    private void relaunch(Worker w) {
        try {
            launch();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "cannot replace local worker " + w.id(), e);
        }
    }

    /**
     * Stops the workers, then the coordinator. With no task running or queued the workers are
     * killed at once; otherwise they drain (SIGTERM). A worker writing the class-data archive
     * always exits cleanly, since only a clean exit writes it.
     */
    @Override
    public void close() {
        closing = true;
        List<Worker> running;
        synchronized (workers) {
            running = List.copyOf(workers);
        }
        boolean idle = idle();
        for (Worker w : running) {
            if (idle && w.dumpsTo() == null) {
                w.process().destroyForcibly();
            } else {
                // SIGTERM: the worker drains and exits. Through its handle: Process.destroy also closes
                // our end of its stderr pipe, and the JVM assembling the AOT cache dies writing to it.
                w.process().toHandle().destroy();
            }
        }
        for (Worker w : running) {
            Process p = w.process();
            try {
                if (!p.waitFor(w.dumpsTo() != null ? DUMP_WAIT_MS : DRAIN_WAIT_MS, TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(DRAIN_WAIT_MS, TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
            if (w.dumpsTo() != null) {
                if (!p.isAlive() && p.exitValue() == 0) {
                    archive.publish(w.dumpsTo());
                } else {
                    ClassDataArchive.discard(w.dumpsTo());
                }
            }
        }
        coordinator.close();
        try {
            Runtime.getRuntime().removeShutdownHook(exitHook);
        } catch (IllegalStateException alreadyExiting) {
            // the hook is running or has run
        }
    }

    /** Whether the coordinator has no task running or queued (so no worker has anything to drain). */
    private boolean idle() {
        try {
            StatusResponse s = coordinator.status().get(1, TimeUnit.SECONDS);
            return s.getRunningTasks() == 0 && s.getQueuedTasks() == 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }

    private void killWorkers() {
        closing = true;
        synchronized (workers) {
            workers.forEach(w -> w.process().destroyForcibly());
        }
    }
}
