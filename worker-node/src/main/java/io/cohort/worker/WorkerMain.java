package io.cohort.worker;

import io.cohort.common.ChannelSecurity;
import io.cohort.common.DurationConverter;
import io.cohort.common.Protocol;
import java.io.File;
import java.io.PrintWriter;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code worker} command: runs a worker daemon until it is drained (SIGTERM) or fails.
 * Exit status: 0 after a drain, 1 on a fatal error (e.g. a protocol version mismatch), 2 on
 * bad flags. Reusable as a subcommand: {@code new CommandLine(top).addSubcommand(new WorkerMain())}.
 */
@Command(name = "worker", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Runs a Cohort worker daemon attached to a coordinator.")
public final class WorkerMain implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT",
            description = "The coordinator to attach to (port defaults to " + Protocol.DEFAULT_PORT + ").")
    String coordinator;

    @Option(names = "--id", paramLabel = "ID", description = "The worker id to ask for (default: chosen by the coordinator).")
    String id = "";

    @Option(names = "--slots", paramLabel = "N", description = "Tasks run at once (default: available processors).")
    Integer slots;

    @Option(names = "--prefetch", paramLabel = "N", description = "Tasks queued locally beyond the slots (default: slots).")
    Integer prefetch;

    @Option(names = "--max-prefetch", paramLabel = "N", description = "Most tasks queued locally beyond the slots when"
            + " they are seen to run briefly (adaptive prefetch; default: " + WorkerConfig.SHORT_TASKS_PER_SLOT
            + " per slot, or --prefetch when that is given).")
    Integer maxPrefetch;

    @Option(names = "--resources", split = ",", paramLabel = "NAME=AMOUNT",
            description = "Resources offered to each task, e.g. gpu=1,memoryMb=4096.")
    Map<String, Double> resources = new LinkedHashMap<>();

    @Option(names = "--labels", split = ",", paramLabel = "LABEL", description = "Labels carried, e.g. zone=a,gpu.")
    List<String> labels = new ArrayList<>();

    @Option(names = "--classpath", paramLabel = "PATHS",
            description = "The application's jars and class directories, separated by the platform's path separator (':' on Unix).")
    String classpath;

    @Option(names = "--drain-timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long a drain lets running tasks finish, e.g. 30s, 500ms, 2m (default: 30s).")
    Duration drainTimeout = Duration.ofSeconds(30);

    @Option(names = "--tls-ca", paramLabel = "PEM", description = "Connect with TLS, trusting these CA certificates.")
    Path tlsCa;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Client certificate for mutual TLS (needs --tls-key, --tls-ca).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key (PKCS#8 PEM) of --tls-cert.")
    Path tlsKey;

    @Option(names = "--token-file", paramLabel = "FILE", description = "The worker token (the file's content) the coordinator requires.")
    Path tokenFile;

    @Option(names = "--deserialization-filter", paramLabel = "PATTERN",
            description = "An allow-list for the classes tasks bring, in the JDK's ObjectInputFilter pattern syntax, "
                    + "e.g. 'com.example.**;java.base/*;!*'. Combined with the built-in refusals of known gadget "
                    + "classes, which always win; Cohort's own classes are always admitted. Default: the built-in "
                    + "refusals alone.")
    String deserializationFilter;

    @Option(names = "--allow-jvm-option", paramLabel = "REGEX",
            description = "Also allow process tasks' JVM options matching this Java regex (whole option; repeatable)."
                    + " Default: heap, stack and GC sizing, assertions, --enable-preview, --add-opens/--add-exports"
                    + " and -D properties outside java.*, jdk.* and sun.*; anything else fails the task, naming it.")
    List<String> allowJvmOptions = new ArrayList<>();

    @Option(names = "--parent-pid", paramLabel = "PID", description = "Halt as soon as this process ends.")
    Long parentPid;

    @Option(names = "--metrics-port", paramLabel = "PORT", description = "Serve Prometheus metrics at /metrics on"
            + " this port of 127.0.0.1, 0 for any free one (default: off).")
    Integer metricsPort;

    @Option(names = "--quiet", description = "Print nothing when attached (for embedded clusters, whose output is the user's).")
    boolean quiet;

    /** Held so the level set on it is not lost when the logger would otherwise be collected. */
    private static final java.util.logging.Logger QUIET_LOGS = java.util.logging.Logger.getLogger("io.cohort");

    public static void main(String[] args) {
        System.exit(new CommandLine(new WorkerMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        WorkerConfig config = config();
        Optional<ProcessHandle> parent = Optional.empty();
        if (parentPid != null) {
            parent = ProcessHandle.of(parentPid);
            if (parent.isEmpty() || !parent.get().isAlive()) {
                throw new ParameterException(spec.commandLine(), "--parent-pid " + parentPid + " is not running");
            }
        }
        if (metricsPort == null) {
            return run(config, parent, quiet, spec.commandLine().getOut(), spec.commandLine().getErr());
        }
        if (metricsPort < 0 || metricsPort > 65535) {
            throw new ParameterException(spec.commandLine(), "--metrics-port must be within 0..65535, not " + metricsPort);
        }
        try (WorkerMetrics metrics = WorkerMetrics.start(metricsPort)) {
            spec.commandLine().getOut().println("cohort worker metrics on http://127.0.0.1:" + metrics.port() + "/metrics");
            spec.commandLine().getOut().flush();
            return run(config, parent, quiet, spec.commandLine().getOut(), spec.commandLine().getErr(), metrics,
                    metrics.wireCounter());
        }
    }

    /**
     * Runs a daemon until it is drained (SIGTERM) or fails; returns the exit status. Halts
     * when {@code parent} ends. Shared with {@link EmbeddedWorkerMain}.
     */
    static int run(WorkerConfig config, Optional<ProcessHandle> parent, boolean quiet, PrintWriter out, PrintWriter err) {
        return run(config, parent, quiet, out, err, SlotMeter.NONE);
    }

    /** As above, telling {@code meter} of each task and {@code interceptors} of each call to the coordinator. */
    static int run(WorkerConfig config, Optional<ProcessHandle> parent, boolean quiet, PrintWriter out, PrintWriter err,
                   SlotMeter meter, io.grpc.ClientInterceptor... interceptors) {
        if (quiet) {
            QUIET_LOGS.setLevel(java.util.logging.Level.WARNING);
        }
        if (config.security().tokenValue().isEmpty()) {
            // Said once: a coordinator that takes no token lets any local user run code here.
            System.getLogger(WorkerMain.class.getName()).log(System.Logger.Level.WARNING, "no worker token: this worker"
                    + " runs whatever a coordinator without tokens hands it, and any local user can submit to such a"
                    + " coordinator; give --token-file (the coordinator's --worker-token-file) to use tokens");
        }
        WorkerDaemon daemon = WorkerDaemon.start(config, meter, interceptors);
        parent.ifPresent(p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(0)));
        daemon.attached().thenAccept(workerId -> {
            if (quiet) {
                return;
            }
            out.println("cohort worker " + workerId + " attached to " + config.coordinator());
            out.flush();
        });
        Runnable drainThenHalt = () -> {
            int status = 0;
            try {
                status = daemon.drain().get(config.drainTimeout().toMillis() + 10_000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException | TimeoutException | java.util.concurrent.ExecutionException e) {
                status = 1;
            }
            Runtime.getRuntime().halt(status);   // exit 0 after a clean drain, not the signal's 143
        };
        // SIGTERM, SIGINT and SIGHUP drain. Handled as signals, not in a shutdown hook, so that a task
        // calling System.exit is not taken for one: that is a lost worker, not a drain.
        int status;
        try (DrainSignals signals = new DrainSignals(drainThenHalt)) {
            Thread onExit = signals.drainsOnSigterm()
                    // Any other end of the JVM (System.exit in a task): give the stream up at
                    // once, so the coordinator counts the worker lost before HotSpot has finished exiting.
                    ? new Thread(() -> daemon.abandon(ABANDON_WAIT), "cohort-worker-exit")
                    : new Thread(drainThenHalt, "cohort-worker-drain");
            Runtime.getRuntime().addShutdownHook(onExit);
            status = daemon.termination().join();
            try {
                Runtime.getRuntime().removeShutdownHook(onExit);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running and ends the JVM itself
            }
        }
        daemon.failure().ifPresent(why -> {
            err.println("cohort worker: " + why);
            err.flush();
        });
        return status;
    }

    /** How long a JVM exiting under the daemon waits for its connection to the coordinator to close. */
    private static final Duration ABANDON_WAIT = Duration.ofSeconds(1);

    /**
     * While open, SIGTERM, SIGINT and SIGHUP run {@code drain} on a thread of its own; closing puts the
     * JVM's own handlers back (run() also runs inside other JVMs, such as tests).
     */
    @SuppressWarnings("restriction")
    private static final class DrainSignals implements AutoCloseable {
        private final Map<sun.misc.Signal, sun.misc.SignalHandler> previous = new LinkedHashMap<>();

        DrainSignals(Runnable drain) {
            for (String name : new String[] {"TERM", "INT", "HUP"}) {
                sun.misc.Signal signal = new sun.misc.Signal(name);
                try {
                    previous.put(signal, sun.misc.Signal.handle(signal, s -> new Thread(drain, "cohort-worker-drain").start()));
                } catch (IllegalArgumentException | UnsupportedOperationException refused) {
                    // e.g. -Xrs: the JVM keeps the signal to itself
                }
            }
        }

        /** False when this JVM does not let us handle SIGTERM: then a shutdown hook must drain. */
        boolean drainsOnSigterm() {
            return previous.keySet().stream().anyMatch(s -> s.getName().equals("TERM"));
        }

        @Override
        public void close() {
            previous.forEach(sun.misc.Signal::handle);
        }
    }

    /** The daemon's configuration from the flags; bad values are usage errors (exit 2). */
    WorkerConfig config() {
        try {
            WorkerConfig.Builder b = WorkerConfig.builder()
                    .coordinator(target(coordinator))
                    .workerId(id)
                    .resources(resources)
                    .labels(new LinkedHashSet<>(labels))
                    .drainTimeout(drainTimeout)
                    .security(new ChannelSecurity(tlsCa, tlsCert, tlsKey,
                            tokenFile == null ? null : ChannelSecurity.readToken(tokenFile)));
            if (slots != null) {
                b.slots(slots);
            }
            if (maxPrefetch != null) {
                b.maxPrefetch(maxPrefetch);
            }
            if (prefetch != null) {
                b.prefetch(prefetch);
            }
            if (classpath != null && !classpath.isBlank()) {
                b.classLoader(classLoader(classpath));
            }
            if (deserializationFilter != null) {
                b.deserializationFilter(deserializationFilter);
            }
            b.allowJvmOptions(allowJvmOptions);
            return b.build();
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    static String target(String hostPort) {
        String s = hostPort.strip();
        int colon = s.lastIndexOf(':');
        if (colon < 0 || s.endsWith("]")) {
            return s + ":" + Protocol.DEFAULT_PORT;
        }
        if (colon == 0) {
            throw new IllegalArgumentException("--coordinator needs a host: " + hostPort);
        }
        try {
            int port = Integer.parseInt(s.substring(colon + 1));
            if (port < 1 || port > 65535) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--coordinator must be HOST:PORT with a port from 1 to 65535: " + hostPort);
        }
        return s;
    }

    private static ClassLoader classLoader(String classpath) {
        List<URL> urls = new ArrayList<>();
        for (String entry : classpath.split(File.pathSeparator)) {
            if (entry.isBlank()) {
                continue;
            }
            Path p = Path.of(entry);
            if (!Files.exists(p)) {
                throw new IllegalArgumentException("--classpath entry " + entry + " does not exist");
            }
            try {
                urls.add(p.toUri().toURL());
            } catch (MalformedURLException e) {
                throw new IllegalArgumentException("--classpath entry " + entry + " is not a valid path", e);
            }
        }
        return new URLClassLoader("cohort-tasks", urls.toArray(URL[]::new), WorkerMain.class.getClassLoader());
    }

}
