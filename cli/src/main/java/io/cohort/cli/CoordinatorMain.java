package io.cohort.cli;

import io.cohort.common.ChannelSecurity;
import io.cohort.coordinator.CodeShipping;
import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import io.cohort.coordinator.JournalMode;
import io.cohort.coordinator.shared.SharedLimits;
import java.nio.file.Path;
import java.util.List;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import io.cohort.coordinator.watch.WatchConfig;
import picocli.CommandLine.Option;

/**
 * {@code coordinator [--host H] [--port P] [--heartbeat-timeout 10s] [--placement-timeout 30s]
 * [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]] [--client-token-file F --worker-token-file F] [--insecure]
 * [--journal off|batch|always] [--journal-dir DIR] [--session-grace 60s] [--max-tasks-per-client N]
 * [--shared-max-object-bytes B] [--shared-max-session-bytes B] [--shared-max-session-objects N] [--shared-max-total-bytes B]
 * [--max-waiting-payload-fetches N] [--max-idle-functions-per-client N]}:
 * runs a coordinator until SIGTERM, then exits 0. Reusable as a picocli subcommand.
 */
@Command(name = "coordinator", mixinStandardHelpOptions = true,
        description = "Runs the Cohort coordinator: schedules client tasks onto attached workers.")
public final class CoordinatorMain implements Callable<Integer> {
    @Option(names = "--host", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host = CoordinatorConfig.DEFAULTS.host();

    @Option(names = "--port", description = "Port to listen on, 0 for any free one (default: ${DEFAULT-VALUE}).")
    int port = CoordinatorConfig.DEFAULTS.port();

    @Option(names = "--heartbeat-timeout", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "A worker silent this long is lost, e.g. 10s, 500ms, 1m (default: 10s).")
    Duration heartbeatTimeout = CoordinatorConfig.DEFAULTS.heartbeatTimeout();

    @Option(names = "--placement-timeout", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "How long a task no attached worker can run waits before it is rejected (default: 30s).")
    Duration placementTimeout = CoordinatorConfig.DEFAULTS.placementTimeout();

    @Option(names = "--insecure", description = "Allow a non-loopback host without TLS or authentication.")
    boolean insecure;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Serve TLS with this certificate chain (needs --tls-key).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key (PKCS#8 PEM) of --tls-cert.")
    Path tlsKey;

    @Option(names = "--tls-client-ca", paramLabel = "PEM",
            description = "Require mutual TLS: clients and workers show a certificate signed by these CAs.")
    Path clientCa;

    @Option(names = "--client-token-file", paramLabel = "FILE",
            description = "Require this token (the file's content) from clients; needs --worker-token-file.")
    Path clientTokenFile;

    @Option(names = "--worker-token-file", paramLabel = "FILE",
            description = "Require this token (the file's content) from workers; needs --client-token-file.")
    Path workerTokenFile;

    @Option(names = "--admin-token-file", paramLabel = "FILE",
            description = "The admin token (the file's content): the only one that may drain workers; needs the"
                    + " client and worker token files (default: none, so nobody may drain over the network).")
    Path adminTokenFile;

    @Option(names = "--journal", paramLabel = "off|batch|always",
            converter = JournalModeConverter.class,
            description = "Journal accepted tasks so a restarted coordinator carries on with them: batch writes each"
                    + " group at once and syncs it within a second, always syncs before acting (default: batch;"
                    + " off when --port is 0 and no --journal-dir is given).")
    JournalMode journal;

    @Option(names = "--journal-dir", paramLabel = "DIR",
            description = "Where the journal lives (default: journal-PORT in --state-dir).")
    Path journalDir;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Where the coordinator keeps its state, the journal included (default: $XDG_STATE_HOME/cohort,"
                    + " else ~/.local/state/cohort; never the working directory).")
    Path stateDir;

    @Option(names = "--session-grace", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "How long a client whose connection broke has to resume its session (default: 60s).")
    Duration sessionGrace = CoordinatorConfig.DEFAULTS.sessionGrace();

    @Option(names = "--max-tasks-per-client", paramLabel = "N",
            description = "Unanswered tasks one client may have here; more are rejected (default: ${DEFAULT-VALUE}).")
    int maxTasksPerClient = CoordinatorConfig.DEFAULTS.maxTasksPerClient();

    @Option(names = "--max-task-bytes-per-client", paramLabel = "BYTES", converter = ByteSizeConverter.class,
            description = "Bytes of unanswered tasks one client may have here, e.g. 256m; more are rejected"
                    + " (default: a quarter of --max-task-bytes).")
    long maxTaskBytesPerClient;

    @Option(names = "--max-task-bytes", paramLabel = "BYTES", converter = ByteSizeConverter.class,
            description = "Bytes of unanswered tasks of all clients, e.g. 1g (default: 40%% of the max heap).")
    long maxTaskBytes;

    @Option(names = "--max-held-bytes-per-client", paramLabel = "BYTES", converter = ByteSizeConverter.class,
            description = "Bytes of results held for a client that is not taking them; past it, no more of its"
                    + " tasks start until it does (default: as --max-task-bytes-per-client).")
    long maxHeldBytesPerClient;

    @Option(names = "--max-sessions", paramLabel = "N",
            description = "Open client sessions, attached or waiting to be resumed (default: one per 64 KiB of"
                    + " max heap, at least 100).")
    int maxSessions;

    @Option(names = "--max-calls-per-connection", paramLabel = "N",
            description = "Calls one connection may have open at once (default: ${DEFAULT-VALUE}).")
    int maxCallsPerConnection = CoordinatorConfig.DEFAULTS.maxCallsPerConnection();

    @Option(names = "--shared-max-object-bytes", paramLabel = "BYTES",
            description = "Bytes one shared object may hold (default: a sixteenth of the max heap, at most 64 MiB;"
                    + " here ${DEFAULT-VALUE}).")
    long sharedMaxObjectBytes = CoordinatorConfig.DEFAULTS.sharedLimits().maxObjectBytes();

    @Option(names = "--shared-max-session-bytes", paramLabel = "BYTES",
            description = "Bytes one session's shared objects may hold (default: an eighth of the max heap; here"
                    + " ${DEFAULT-VALUE}).")
    long sharedMaxSessionBytes = CoordinatorConfig.DEFAULTS.sharedLimits().maxSessionBytes();

    @Option(names = "--shared-max-session-objects", paramLabel = "N",
            description = "Shared objects one session may have at a time (default: ${DEFAULT-VALUE}).")
    int sharedMaxSessionObjects = CoordinatorConfig.DEFAULTS.sharedLimits().maxSessionObjects();

    @Option(names = "--shared-max-total-bytes", paramLabel = "BYTES",
            description = "Bytes all sessions' shared objects may hold (default: a quarter of the max heap; here"
                    + " ${DEFAULT-VALUE}).")
    long sharedMaxTotalBytes = CoordinatorConfig.DEFAULTS.sharedLimits().maxTotalBytes();

    @Option(names = "--shared-max-waiters", paramLabel = "N",
            description = "Calls that may wait at once on shared objects (a take on an empty queue, a lock held"
                    + " elsewhere...); more are refused (default: ${DEFAULT-VALUE}).")
    int sharedMaxWaiters = CoordinatorConfig.DEFAULTS.sharedLimits().maxWaiters();

    @Option(names = "--max-waiting-payload-fetches", paramLabel = "N",
            description = "Payload fetches that may wait at once for their payload's offer; more are refused"
                    + " (default: ${DEFAULT-VALUE}).")
    int maxWaitingPayloadFetches = CoordinatorConfig.DEFAULTS.maxWaitingPayloadFetches();

    @Option(names = "--max-idle-functions-per-client", paramLabel = "N",
            description = "Function definitions a client session keeps that none of its tasks uses; the longest"
                    + " unused beyond are dropped, and defined again by the client when needed (default: ${DEFAULT-VALUE}).")
    int maxIdleFunctionsPerClient = CoordinatorConfig.DEFAULTS.maxIdleFunctionsPerClient();

    @Option(names = "--no-code-shipping",
            description = "Refuse application code shipped by clients (they must then run against the workers'"
                    + " --classpath); default: accept it.")
    boolean noCodeShipping;

    @Option(names = "--code-token-file", paramLabel = "FILE",
            description = "Only the client presenting this token (the file's content; a client token too) may ship"
                    + " code; needs the client and worker token files (default: any client token may).")
    Path codeTokenFile;

    @Option(names = "--code-store-bytes", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Bytes of shipped bundles the coordinator keeps, least recently used out (default: 2g).")
    long codeStoreBytes = CodeShipping.DEFAULTS.storeBytes();

    @Option(names = "--ship-allow-package", paramLabel = "PACKAGE", split = ",",
            description = "Accept shipped jars only if every class in them is in one of these packages (or below);"
                    + " default: any package.")
    List<String> shipAllowPackages = new java.util.ArrayList<>();

    @Option(names = "--http-port", paramLabel = "PORT", description = "Serve the dashboard (and /metrics) over HTTP"
            + " on this port, 0 for any free one (default: off).")
    int httpPort = WatchConfig.OFF;

    @Option(names = "--metrics-port", paramLabel = "PORT", description = "Serve Prometheus metrics at /metrics on this"
            + " port, 0 for any free one; may equal --http-port (default: off).")
    int metricsPort = WatchConfig.OFF;

    @Option(names = "--http-host", paramLabel = "HOST", description = "Address of the dashboard and metrics ports;"
            + " beyond loopback only with --tls-cert and tokens (default: ${DEFAULT-VALUE}).")
    String httpHost = "127.0.0.1";

    static final class JournalModeConverter implements CommandLine.ITypeConverter<JournalMode> {
        @Override
        public JournalMode convert(String value) {
            try {
                return JournalMode.valueOf(value.toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not off, batch or always");
            }
        }
    }

    /** The journal as the flags ask: a port of 0 cannot be restarted on, so it journals only if told where. */
    private JournalMode journalMode() {
        if (journal != null) {
            return journal;
        }
        return port == 0 && journalDir == null ? JournalMode.OFF : JournalMode.BATCH;
    }

    private Path journalDirectory(JournalMode mode) {
        if (mode == JournalMode.OFF) {
            return null;
        }
        return journalDir != null ? journalDir : StateDirectory.resolve(stateDir).resolve("journal-" + port);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new CoordinatorMain()).execute(args));
    }

    /** Serves until the JVM is asked to stop; prints "cohort coordinator listening on HOST:PORT" when ready. */
    @Override
    public Integer call() throws Exception {
        CoordinatorConfig config;
        try {
            config = CoordinatorConfig.builder().host(host).port(port).heartbeatTimeout(heartbeatTimeout)
                    .placementTimeout(placementTimeout).insecure(insecure).tls(tlsCert, tlsKey).clientCa(clientCa)
                    .journal(journalMode(), journalDirectory(journalMode())).sessionGrace(sessionGrace)
                    .maxTasksPerClient(maxTasksPerClient)
                    .maxTaskBytesPerClient(maxTaskBytesPerClient).maxTaskBytes(maxTaskBytes)
                    .maxHeldBytesPerClient(maxHeldBytesPerClient).maxSessions(maxSessions)
                    .maxCallsPerConnection(maxCallsPerConnection)
                    .sharedLimits(new SharedLimits(sharedMaxObjectBytes, sharedMaxSessionBytes,
                            sharedMaxSessionObjects, sharedMaxTotalBytes, sharedMaxWaiters))
                   .maxWaitingPayloadFetches(maxWaitingPayloadFetches)
                    .maxIdleFunctionsPerClient(maxIdleFunctionsPerClient)
                    .watch(new WatchConfig(httpHost, httpPort, metricsPort))
                    .tokens(clientTokenFile == null ? null : ChannelSecurity.readToken(clientTokenFile),
                            workerTokenFile == null ? null : ChannelSecurity.readToken(workerTokenFile))
                    .adminToken(adminTokenFile == null ? null : ChannelSecurity.readToken(adminTokenFile))
                    .codeShipping(new CodeShipping(!noCodeShipping,
                            codeTokenFile == null ? null : ChannelSecurity.readToken(codeTokenFile),
                            codeStoreBytes, shipAllowPackages))
                    .build();
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
            System.err.println("coordinator: " + e.getMessage());
            return 2;
        }
        CoordinatorServer server;
        try {
            server = CoordinatorServer.start(config);
        } catch (IllegalArgumentException | java.io.IOException e) {
            System.err.println("coordinator: " + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
            System.out.flush();
            // SIGTERM is the normal way to stop a coordinator: exit 0, not 143.
            Runtime.getRuntime().halt(0);
        }, "cohort-coordinator-shutdown"));
        System.out.println("cohort coordinator listening on " + server.target());
        String scheme = config.tls() ? "https://" : "http://";
        String http = (httpHost.contains(":") ? "[" + httpHost + "]" : httpHost) + ":";
        if (server.dashboardPort() >= 0) {
            System.out.println("cohort dashboard on " + scheme + http + server.dashboardPort() + "/");
        }
        if (server.metricsPort() >= 0) {
            System.out.println("cohort metrics on " + scheme + http + server.metricsPort() + "/metrics");
        }
        System.out.flush();
        stopped.await();
        return 0;
    }
}
