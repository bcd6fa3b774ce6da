package io.cohort.coordinator;

import io.cohort.common.Protocol;
import io.cohort.coordinator.core.Budgets;
import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.coordinator.core.Scheduler;
import io.cohort.coordinator.journal.Journal;
import io.cohort.coordinator.server.Health;
import io.cohort.coordinator.server.Authenticator;
import io.cohort.coordinator.server.PayloadRelay;
import io.cohort.coordinator.server.SchedulerLoop;
import io.cohort.coordinator.server.Services;
import io.cohort.coordinator.server.UndecodableRequests;
import io.cohort.coordinator.shared.SharedAccess;
import io.cohort.coordinator.shared.SharedLifecycle;
import io.cohort.coordinator.shared.SharedService;
import io.cohort.coordinator.shared.SharedStore;
import io.cohort.coordinator.shared.SharedTimers;
import io.cohort.coordinator.watch.Console;
import io.cohort.coordinator.watch.Recorder;
import io.cohort.common.metrics.WireBytes;
import io.cohort.proto.v1.StatusResponse;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerServiceDefinition;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A running coordinator: the client, worker and admin gRPC services on one network thread,
 * which also runs the scheduler. Embeddable (Cohort.local starts one inside the client's JVM). Thread-safe.
 */
public final class CoordinatorServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CoordinatorServer.class.getName());

    private final CoordinatorConfig config;
    private final Server server;
    private final SchedulerLoop loop;
    private final SharedTimers sharedTimers;
    private final List<Consumer<String>> welcomeListeners;
    private final NetworkThread network;
    /** How long a fetch of a large payload waits for its offer (the offer may come after the task). */
    private static final long PAYLOAD_OFFER_WAIT_MS = 60_000;
    private PayloadRelay payloads;
    private SharedStore shared;
    private CodeShippingService code;
    private Health health;
    /** Null when neither the dashboard nor the metrics are served. */
    private Console console;
    /** Set by the first close(): the health service enters its terminal state once. */
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();

    private CoordinatorServer(CoordinatorConfig config, Server server, SchedulerLoop loop, SharedTimers sharedTimers,
                              List<Consumer<String>> welcomeListeners, NetworkThread network) {
        this.config = config;
        this.server = server;
        this.loop = loop;
        this.sharedTimers = sharedTimers;
        this.welcomeListeners = welcomeListeners;
        this.network = network;
    }

    /**
     * Binds and starts serving. Throws IOException if the address cannot be bound, and
     * IllegalArgumentException for a non-loopback host unless {@link CoordinatorConfig#insecure()}.
     */
    public static CoordinatorServer start(CoordinatorConfig config) throws IOException {
        InetAddress address = InetAddress.getByName(config.host());
        if (!address.isLoopbackAddress() && !config.insecure() && !(config.tls() && config.authenticates())) {
            throw new IllegalArgumentException("refusing to listen on " + config.host() + " without "
                    + (config.tls() ? "" : "TLS (--tls-cert, --tls-key)" + (config.authenticates() ? "" : " and "))
                    + (config.authenticates() ? "" : "tokens (--client-token-file, --worker-token-file)")
                    + ": whoever can connect can run code on the workers. Pass --insecure to do it anyway");
        }
        config.watch().refuseUnsafe(config.insecure(), config.tls(), config.authenticates());
        WireBytes wire = new WireBytes();
        // Before the journal is recovered: its tasks are counted as they come back.
        Recorder recorder = config.watch().enabled() ? new Recorder(System::nanoTime, Recorder.RING) : null;
        Journal journal = config.journal() == JournalMode.OFF ? null
                : Journal.open(config.journalDir().orElseThrow(), config.journal());
        Budgets budgets = config.budgets(Runtime.getRuntime().maxMemory());
        Scheduler core = new Scheduler(config.heartbeatTimeout().toMillis(), config.placementTimeout().toMillis(),
                config.sessionGrace().toMillis(), journal != null, budgets, new java.security.SecureRandom()::nextLong);
        SharedAccess sharedAccess = new SharedAccess();
        core.limitIdleFunctions(config.maxIdleFunctionsPerClient());
        if (recorder != null) {
            core.onTransition(recorder);
        }
        if (journal != null) {
            recover(journal, core, config, sharedAccess);
        }
        long origin = System.nanoTime();
        NetworkThread network = new NetworkThread();
        SchedulerLoop loop = new SchedulerLoop(core, journal, () -> (System.nanoTime() - origin) / 1_000_000,
                network.home(), budgets.heldBytesPerClient());
        NettyServerBuilder builder = network.apply(NettyServerBuilder.forAddress(new InetSocketAddress(address,
                        config.port()), credentials(config)))
                .directExecutor()   // handlers only enqueue, on the network thread that is the scheduler's too
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES)
                .maxConcurrentCallsPerConnection(config.maxCallsPerConnection())
                .flowControlWindow(Protocol.FLOW_CONTROL_WINDOW)
                .permitKeepAliveTime(5, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true);
        if (recorder != null) {
            builder.addStreamTracerFactory(wire.serverTracer());
        }
        for (ServerServiceDefinition s : Services.all(loop)) {
            builder.addService(s);
        }
        PayloadRelay payloads = new PayloadRelay(PAYLOAD_OFFER_WAIT_MS, config.maxWaitingPayloadFetches(),
                journal == null ? null : new PayloadRelay.Stored() {
                    @Override
                    public boolean has(String id) {
                        return journal.storesArgument(id);
                    }

                    @Override
                    public com.google.protobuf.ByteString read(String id) throws IOException {
                        return journal.readArgument(id);
                    }
                });
        builder.addService(UndecodableRequests.refused(payloads.definition()));
        SharedTimers sharedTimers = new SharedTimers();
        SharedStore shared = new SharedStore(sharedTimers, config.sharedLimits());
        List<Consumer<String>> welcomeListeners = new CopyOnWriteArrayList<>();
        loop.observe(new Observers(new SharedLifecycle(shared, sharedAccess, core::sessionOfTaskOnWorker),
                welcomeListeners, recorder == null ? SchedulerLoop.Observer.NONE : recorder));
        builder.addService(UndecodableRequests.refused(new SharedService(shared, sharedAccess).bindService()));
        CodeShippingService code = CodeShippingService.start(config);   // shipped application code
        builder.addService(UndecodableRequests.refused(code.definition()));
        if (config.authenticates()) {
            builder.intercept(new Authenticator(config.clientToken().orElseThrow(), config.workerToken().orElseThrow(),
                    config.adminToken().orElse(null), config.codeShipping().codeToken()));
        } else {
            // Said once: without tokens the loopback interface is the only guard.
            LOG.log(System.Logger.Level.WARNING, "no tokens: any local user who can connect to {0} can submit code"
                    + " that runs as the workers'' owner, resume sessions and attach as a worker; give"
                    + " --client-token-file and --worker-token-file to require them", config.host());
        }
        // The standard health service: SERVING from here, NOT_SERVING as close() begins (no token needed).
        Health health = Health.serve(builder);
        Server server = builder.build();
        Console console = null;
        loop.start();
        try {
            console = recorder == null ? null : Console.start(config, wire, recorder);
            server.start();
        } catch (IOException | RuntimeException e) {
            loop.close();
            sharedTimers.close();
            payloads.close();
            code.close();
            network.close();
            if (console != null) {
                console.close();
            }
            throw e;
        }
        LOG.log(System.Logger.Level.INFO, "coordinator listening on {0}:{1}", config.host(),
                String.valueOf(server.getPort()));
        CoordinatorServer started = new CoordinatorServer(config, server, loop, sharedTimers, welcomeListeners, network);
        started.health = health;
        started.console = console;
        started.payloads = payloads;
        started.shared = shared;
        started.code = code;
        return started;
    }

    /**
     * Calls {@code listener} with the worker id each time a worker is welcomed (re-attaches
     * included), on the scheduler thread: it must return quickly and never block. For embedders
     * that wait for workers without polling.
     */
    public void onWorkerWelcomed(Consumer<String> listener) {
        welcomeListeners.add(listener);
    }

    /** The cluster as the admin status RPC shows it, taken on the scheduler thread. */
    public CompletableFuture<StatusResponse> status() {
        CompletableFuture<StatusResponse> answer = new CompletableFuture<>();
        loop.status(new StreamObserver<>() {
            @Override
            public void onNext(StatusResponse value) {
                answer.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                answer.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                answer.completeExceptionally(new IllegalStateException("no status"));
            }
        });
        return answer;
    }

    /** The shared objects' lifecycle, the welcome listeners and the metrics' recorder, as the loop's one observer. */
    private record Observers(SchedulerLoop.Observer shared, List<Consumer<String>> welcomeListeners,
                             SchedulerLoop.Observer recorder) implements SchedulerLoop.Observer {
        @Override
        public void event(Event e) {
            shared.event(e);
            recorder.event(e);
        }

        @Override
        public void journalCommitted(long nanos) {
            recorder.journalCommitted(nanos);
        }

        @Override
        public void command(Command c) {
            shared.command(c);
            recorder.command(c);
            if (c instanceof Command.WelcomeWorker w) {
                for (Consumer<String> l : welcomeListeners) {
                    try {
                        l.accept(w.workerId());
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.WARNING, "a worker welcome listener failed", e);
                    }
                }
            }
        }
    }

    private static void recover(Journal journal, Scheduler core, CoordinatorConfig config, SharedAccess access) {
        int[] counts = new int[3];
        journal.recover(s -> {
            core.recoverSession(s.id(), s.clientName(), s.functions(), s.tasks(), s.held());
            access.sessionLive(s.id());
            counts[0]++;
            counts[1] += s.tasks().size();
            counts[2] += s.held().size();
        });
        LOG.log(System.Logger.Level.INFO, "journal {0} ({1}): {2} sessions, {3} tasks ({4} large arguments left on"
                + " disk until a worker fetches them) and {5} results recovered; sessions wait {6} s to be resumed",
                config.journalDir().orElseThrow(), config.journal(), counts[0], counts[1], journal.storedArguments(),
                counts[2], config.sessionGrace().toSeconds());
    }

    private static ServerCredentials credentials(CoordinatorConfig config) throws IOException {
        if (!config.tls()) {
            return InsecureServerCredentials.create();
        }
        TlsServerCredentials.Builder tls = TlsServerCredentials.newBuilder()
                .keyManager(config.tlsCertificate().orElseThrow().toFile(), config.tlsKey().orElseThrow().toFile());
        if (config.clientCa().isPresent()) {
            tls.trustManager(config.clientCa().get().toFile()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
        }
        return tls.build();
    }

    /** Its shared objects (for tests: what they hold). */
    SharedStore sharedStore() {
        return shared;
    }

    /** Its store of shipped bundles (for tests: what it holds). */
    public io.cohort.coordinator.code.CodeStore codeStore() {
        return code.store();
    }

    /** Its payload relay (for tests: what it holds). */
    PayloadRelay payloadRelay() {
        return payloads;
    }

    /** The bound port (the real one when the config asked for 0). */
    public int port() {
        return server.getPort();
    }

    /** The dashboard's HTTP port, or -1 when it is not served. */
    public int dashboardPort() {
        return console == null ? -1 : console.dashboardPort();
    }

    /** The Prometheus endpoint's HTTP port, or -1 when it is not served. */
    public int metricsPort() {
        return console == null ? -1 : console.metricsPort();
    }

    /** "host:port" to connect to. */
    public String target() {
        String host = config.host();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port();
    }

    /**
     * Stops the server (open streams end with UNAVAILABLE), the scheduler and the network thread;
     * waits at most a few seconds.
     */
    @Override
    public void close() {
        if (!closing.getAndSet(true)) {
            health.stopping();   // probes and watchers see NOT_SERVING before the server stops taking calls
        }
        server.shutdownNow();
        loop.close();
        sharedTimers.close();
        payloads.close();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        code.close();
        network.close();
        if (console != null) {
            console.close();
        }
    }
}
