package io.cohort.cli;

import io.cohort.common.ChannelSecurity;
import io.cohort.common.Protocol;
import io.cohort.worker.WorkerConfig;
import io.cohort.worker.WorkerMetrics;
import io.cohort.worker.WorkerProcess;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
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

    @Option(names = "--code-cache-dir", paramLabel = "DIR",
            description = "Keep code shipped by clients here, across restarts (default: a temporary directory,"
                    + " deleted when the worker stops).")
    Path codeCacheDir;

    @Option(names = "--code-cache-bytes", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Bytes of shipped code kept on disk, least recently used out (default: 1g).")
    long codeCacheBytes = 1L << 30;

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
            return WorkerProcess.run(config, parent, quiet, spec.commandLine().getOut(), spec.commandLine().getErr());
        }
        if (metricsPort < 0 || metricsPort > 65535) {
            throw new ParameterException(spec.commandLine(), "--metrics-port must be within 0..65535, not " + metricsPort);
        }
        try (WorkerMetrics metrics = WorkerMetrics.start(metricsPort)) {
            spec.commandLine().getOut().println("cohort worker metrics on http://127.0.0.1:" + metrics.port() + "/metrics");
            spec.commandLine().getOut().flush();
            return WorkerProcess.run(config, parent, quiet, spec.commandLine().getOut(), spec.commandLine().getErr(), metrics,
                    metrics.wireCounter());
        }
    }

    /** The daemon's configuration from the flags; bad values are usage errors (exit 2). */
    WorkerConfig config() {
        try {
            WorkerConfig.Builder b = WorkerConfig.builder()
                    .coordinator(WorkerProcess.target(coordinator))
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
                b.classLoader(WorkerProcess.classLoader(classpath));
            }
            if (deserializationFilter != null) {
                b.deserializationFilter(deserializationFilter);
            }
            b.allowJvmOptions(allowJvmOptions);
            b.codeCache(codeCacheDir, codeCacheBytes);
            return b.build();
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }
}
