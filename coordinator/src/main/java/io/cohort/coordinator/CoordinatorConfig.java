package io.cohort.coordinator;

import io.cohort.common.Protocol;
import io.cohort.coordinator.core.Budgets;
import io.cohort.coordinator.shared.SharedLimits;
import io.cohort.coordinator.watch.WatchConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How a coordinator runs. Immutable; made by {@link #builder()}, whose {@link Builder#build()}
 * fails fast naming the bad field.
 */
public final class CoordinatorConfig {
    /** Every default: 127.0.0.1:7070, heartbeat timeout 10 s, placement timeout 30 s, not insecure. */
    public static final CoordinatorConfig DEFAULTS = builder().build();

    private final String host;
    private final int port;
    private final Duration heartbeatTimeout;
    private final Duration placementTimeout;
    private final boolean insecure;
    private final Path tlsCertificate;
    private final Path tlsKey;
    private final Path clientCa;
    private final String clientToken;
    private final String adminToken;
    private final String workerToken;
    private final JournalMode journal;
    private final Path journalDir;
    private final Duration sessionGrace;
    private final int maxTasksPerClient;
    private final long maxTaskBytesPerClient;
    private final long maxTaskBytes;
    private final long maxHeldBytesPerClient;
    private final int maxSessions;
    private final int maxCallsPerConnection;
    private final SharedLimits sharedLimits;

    private final int maxWaitingPayloadFetches;
    private final int maxIdleFunctionsPerClient;
    private final CodeShipping codeShipping;
    private final WatchConfig watch;

    private CoordinatorConfig(Builder b) {
        this.codeShipping = b.codeShipping;
        this.watch = b.watch;
        this.sharedLimits = b.sharedLimits;
        this.maxIdleFunctionsPerClient = b.maxIdleFunctionsPerClient;
        this.maxWaitingPayloadFetches = b.maxWaitingPayloadFetches;
        this.maxTasksPerClient = b.maxTasksPerClient;
        this.maxTaskBytesPerClient = b.maxTaskBytesPerClient;
        this.maxTaskBytes = b.maxTaskBytes;
        this.maxHeldBytesPerClient = b.maxHeldBytesPerClient;
        this.maxSessions = b.maxSessions;
        this.maxCallsPerConnection = b.maxCallsPerConnection;
        this.journal = b.journal;
        this.journalDir = b.journalDir;
        this.sessionGrace = b.sessionGrace;
        this.tlsCertificate = b.tlsCertificate;
        this.tlsKey = b.tlsKey;
        this.clientCa = b.clientCa;
        this.clientToken = b.clientToken;
        this.adminToken = b.adminToken;
        this.workerToken = b.workerToken;
        this.host = b.host;
        this.port = b.port;
        this.heartbeatTimeout = b.heartbeatTimeout;
        this.placementTimeout = b.placementTimeout;
        this.insecure = b.insecure;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values. */
    public Builder toBuilder() {
        return new Builder().host(host).port(port).heartbeatTimeout(heartbeatTimeout)
                .placementTimeout(placementTimeout).insecure(insecure)
                .tls(tlsCertificate, tlsKey).clientCa(clientCa).tokens(clientToken, workerToken).adminToken(adminToken)
                .journal(journal, journalDir).sessionGrace(sessionGrace).maxTasksPerClient(maxTasksPerClient)
                .maxTaskBytesPerClient(maxTaskBytesPerClient).maxTaskBytes(maxTaskBytes)
                .maxHeldBytesPerClient(maxHeldBytesPerClient).maxSessions(maxSessions)
                .maxCallsPerConnection(maxCallsPerConnection)
                .sharedLimits(sharedLimits)
                .maxWaitingPayloadFetches(maxWaitingPayloadFetches).maxIdleFunctionsPerClient(maxIdleFunctionsPerClient)
                .codeShipping(codeShipping).watch(watch);
    }

    /** Whether and how clients may ship application code; default {@link CodeShipping#DEFAULTS}. */
    public CodeShipping codeShipping() {
        return codeShipping;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public Duration heartbeatTimeout() {
        return heartbeatTimeout;
    }

    public Duration placementTimeout() {
        return placementTimeout;
    }

    public boolean insecure() {
        return insecure;
    }

    /** The server's certificate chain (PEM); present when TLS is on. */
    public Optional<Path> tlsCertificate() {
        return Optional.ofNullable(tlsCertificate);
    }

    /** The server's private key (PEM, PKCS#8); present when TLS is on. */
    public Optional<Path> tlsKey() {
        return Optional.ofNullable(tlsKey);
    }

    /** CA certificates a client or worker certificate must chain to; present when mutual TLS is required. */
    public Optional<Path> clientCa() {
        return Optional.ofNullable(clientCa);
    }

    /** The token clients present; present when authentication is on. */
    public Optional<String> clientToken() {
        return Optional.ofNullable(clientToken);
    }

    /** The token workers present; present when authentication is on. */
    /** The token that may drain workers (and see the status); empty: nobody may drain over the network. */
    public Optional<String> adminToken() {
        return Optional.ofNullable(adminToken);
    }

    public Optional<String> workerToken() {
        return Optional.ofNullable(workerToken);
    }

    public boolean tls() {
        return tlsCertificate != null;
    }

    public JournalMode journal() {
        return journal;
    }

    /** Where the journal lives; empty when {@link #journal()} is OFF. */
    public Optional<Path> journalDir() {
        return Optional.ofNullable(journalDir);
    }

    public Duration sessionGrace() {
        return sessionGrace;
    }

    public int maxTasksPerClient() {
        return maxTasksPerClient;
    }

    /**
     * The budgets this coordinator keeps, for a heap that may grow to {@code maxHeapBytes}: each
     * one set on the builder, the rest derived from the heap ({@link Budgets#forHeap}).
     */
    public Budgets budgets(long maxHeapBytes) {
        Budgets heap = Budgets.forHeap(maxHeapBytes, maxTasksPerClient);
        return new Budgets(maxTasksPerClient,
                maxTaskBytesPerClient > 0 ? maxTaskBytesPerClient : heap.taskBytesPerClient(),
                maxTaskBytes > 0 ? maxTaskBytes : heap.taskBytes(),
                maxHeldBytesPerClient > 0 ? maxHeldBytesPerClient : heap.heldBytesPerClient(),
                maxSessions > 0 ? maxSessions : heap.sessions());
    }

    /** Calls (streams) one connection may have open at once. */
    public int maxCallsPerConnection() {
        return maxCallsPerConnection;
    }

    /** What shared objects may hold, per object, per session and in all. */
    public SharedLimits sharedLimits() {
        return sharedLimits;
    }

    public int maxWaitingPayloadFetches() {
        return maxWaitingPayloadFetches;
    }

    public int maxIdleFunctionsPerClient() {
        return maxIdleFunctionsPerClient;
    }

    /** Where the dashboard and the Prometheus endpoint are served over HTTP (by default nowhere). */
    public WatchConfig watch() {
        return watch;
    }

    public boolean authenticates() {
        return clientToken != null;
    }

    @Override
    public String toString() {
        return "CoordinatorConfig[host=" + host + ", port=" + port + ", heartbeatTimeout=" + heartbeatTimeout
                + ", placementTimeout=" + placementTimeout + ", insecure=" + insecure + ", tls=" + tls()
                + ", mutualTls=" + (clientCa != null) + ", tokens=" + authenticates() + ", journal=" + journal
                + (journalDir == null ? "" : " in " + journalDir) + ", sessionGrace=" + sessionGrace + ", maxTasksPerClient=" + maxTasksPerClient
                + ", sharedLimits=" + sharedLimits + "]";
    }

    /** Not thread-safe. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = Protocol.DEFAULT_PORT;
        private Duration heartbeatTimeout = Duration.ofSeconds(10);
        private Duration placementTimeout = Duration.ofSeconds(30);
        private boolean insecure;
        private Path tlsCertificate;
        private Path tlsKey;
        private Path clientCa;
        private String clientToken;
        private String adminToken;
        private CodeShipping codeShipping = CodeShipping.DEFAULTS;
        private String workerToken;
        private JournalMode journal = JournalMode.OFF;
        private Path journalDir;
        private Duration sessionGrace = Duration.ofSeconds(60);
        private int maxTasksPerClient = 2_000_000;
        private long maxTaskBytesPerClient;
        private long maxTaskBytes;
        private long maxHeldBytesPerClient;
        private int maxSessions;
        private int maxCallsPerConnection = 1024;
        private SharedLimits sharedLimits = SharedLimits.forHeap(Runtime.getRuntime().maxMemory());
        private int maxWaitingPayloadFetches = 1_024;
        private int maxIdleFunctionsPerClient = 1_024;
        private WatchConfig watch = WatchConfig.NONE;

        private Builder() {}

        /**
         * Serve the dashboard and Prometheus metrics over HTTP; default {@link WatchConfig#NONE}
         * (neither). Beyond loopback only with TLS and tokens, or {@link #insecure}.
         */
        public Builder watch(WatchConfig watch) {
            this.watch = Objects.requireNonNull(watch, "watch");
            return this;
        }

        /** Address to listen on; default "127.0.0.1". A non-loopback one needs {@link #insecure}. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** Port to listen on, 0 for an ephemeral one; default {@link Protocol#DEFAULT_PORT}. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** A worker silent this long is declared lost; default 10 s; at least 1 ms. */
        public Builder heartbeatTimeout(Duration timeout) {
            this.heartbeatTimeout = Objects.requireNonNull(timeout, "heartbeatTimeout");
            return this;
        }

        /**
         * How long a task that no attached worker could ever run waits for one to attach before
         * it is rejected (counted only while some worker is attached); default 30 s.
         */
        public Builder placementTimeout(Duration timeout) {
            this.placementTimeout = Objects.requireNonNull(timeout, "placementTimeout");
            return this;
        }

        /** Allows a non-loopback host without TLS or authentication; default false. */
        public Builder insecure(boolean insecure) {
            this.insecure = insecure;
            return this;
        }

        /** Serve TLS with this certificate chain and private key (PEM files); null, null: plaintext. */
        public Builder tls(Path certificate, Path key) {
            this.tlsCertificate = certificate;
            this.tlsKey = key;
            return this;
        }

        /** Require mutual TLS: every peer shows a certificate signed by one of these CAs; null: not required. */
        public Builder clientCa(Path caCertificates) {
            this.clientCa = caCertificates;
            return this;
        }

        /**
         * Require a bearer token on every call: {@code clientToken} for clients (submit, status,
         * shared objects), {@code workerToken} for workers (attach, shared objects). Both or neither.
         */
        public Builder tokens(String clientToken, String workerToken) {
            this.clientToken = clientToken;
            this.workerToken = workerToken;
            return this;
        }

        /**
         * The admin token: the only one that may drain workers (and see the status, as a client
         * may). Needs {@link #tokens}, and must differ from both. Null (the default): no admin.
         */
        public Builder adminToken(String adminToken) {
            this.adminToken = adminToken;
            return this;
        }

        /**
         * Keep a journal in {@code dir} (created owner-only if missing; one of another user, or
         * open to group or others, is refused), so that a coordinator restarted after a crash
         * carries on with the tasks it had accepted; default OFF. One directory serves one
         * coordinator at a time.
         */
        public Builder journal(JournalMode mode, Path dir) {
            this.journal = Objects.requireNonNull(mode, "journal");
            this.journalDir = dir;
            return this;
        }

        /**
         * How long a session whose stream broke (a reset connection, a coordinator restart)
         * waits for its client to resume it: its tasks carry on and their results are held.
         * Default 60 s; 0 ends such a session at once. A session the client closes ends at once.
         */
        public Builder sessionGrace(Duration grace) {
            this.sessionGrace = Objects.requireNonNull(grace, "sessionGrace");
            return this;
        }

        /**
         * Unanswered tasks one client session may have at the coordinator (about 500 bytes of
         * its heap each); more are rejected. Clients learn it when they connect and make
         * {@code submit} wait below it. Default 2,000,000.
         */
        public Builder maxTasksPerClient(int max) {
            this.maxTasksPerClient = max;
            return this;
        }

        /**
         * Encoded bytes of the unanswered tasks of one client session; a task past it is
         * rejected, and clients learn it when they connect and make {@code submit} wait below
         * it. 0 (the default): a quarter of {@link #maxTaskBytes}.
         */
        public Builder maxTaskBytesPerClient(long bytes) {
            this.maxTaskBytesPerClient = bytes;
            return this;
        }

        /** Encoded bytes of the unanswered tasks of all sessions. 0 (the default): 40% of the max heap. */
        public Builder maxTaskBytes(long bytes) {
            this.maxTaskBytes = bytes;
            return this;
        }

        /**
         * Payload fetches that may wait at once for their payload to be offered (a task's
         * message may overtake its argument's offer); each waits up to 60 s. More are refused
         * with RESOURCE_EXHAUSTED. Default 1,024.
         */
        public Builder maxWaitingPayloadFetches(int max) {
            this.maxWaitingPayloadFetches = max;
            return this;
        }

        /**
         * Bytes of results held for one session that is not taking them (waiting to be resumed,
         * or not reading its stream); past it, none of its queued tasks is started until it does.
         * 0 (the default): the same as {@link #maxTaskBytesPerClient}'s default.
         */
        public Builder maxHeldBytesPerClient(long bytes) {
            this.maxHeldBytesPerClient = bytes;
            return this;
        }

        /**
         * Open sessions, attached or waiting to be resumed. At the limit an empty session waiting
         * to be resumed is ended to make room; if there is none, a new session is refused with
         * RESOURCE_EXHAUSTED. 0 (the default): one per 64 KiB of max heap, at least 100.
         */
        public Builder maxSessions(int max) {
            this.maxSessions = max;
            return this;
        }

        /** Calls (streams) one connection may have open at once; default 1024. */
        public Builder maxCallsPerConnection(int max) {
            this.maxCallsPerConnection = max;
            return this;
        }

        /**
         * What shared objects may hold: one object, one session's, all sessions'; default
         * {@link SharedLimits#forHeap} of this JVM's max heap (a sixteenth up to 64 MiB, an
         * eighth, a quarter; 10,000 objects a session).
         */
        public Builder sharedLimits(SharedLimits limits) {
            this.sharedLimits = Objects.requireNonNull(limits, "sharedLimits");
            return this;
        }

        /**
         * Function definitions a client session keeps that no task of it uses (each capturing
         * lambda is a new one); beyond, the longest unused are dropped, and the client defines
         * one again when it needs it. Default 1,024; at least 128, since a client sends up to 64
         * definitions in one message before the tasks that use them.
         */
        public Builder maxIdleFunctionsPerClient(int max) {
            this.maxIdleFunctionsPerClient = max;
            return this;
        }

        /** Whether and how clients may ship code (see {@link CodeShipping}); default {@link CodeShipping#DEFAULTS}. */
        public Builder codeShipping(CodeShipping codeShipping) {
            this.codeShipping = java.util.Objects.requireNonNull(codeShipping, "codeShipping");
            return this;
        }

        /** Throws IllegalArgumentException naming the first bad field. */
        public CoordinatorConfig build() {
            if (codeShipping.codeToken() != null && (clientToken == null || codeShipping.codeToken().equals(clientToken)
                    || codeShipping.codeToken().equals(workerToken) || codeShipping.codeToken().equals(adminToken))) {
                throw new IllegalArgumentException("tokens: a code token needs the client and worker tokens, and must"
                        + " differ from every other token");
            }
            if ((tlsCertificate == null) != (tlsKey == null)) {
                throw new IllegalArgumentException("tls needs both a certificate and a key");
            }
            if (clientCa != null && tlsCertificate == null) {
                throw new IllegalArgumentException("clientCa (mutual TLS) needs tls (a certificate and a key)");
            }
            if (adminToken != null && clientToken == null) {
                throw new IllegalArgumentException("tokens: an admin token needs the client and worker tokens too");
            }
            if ((clientToken == null) != (workerToken == null)) {
                throw new IllegalArgumentException("tokens: give both a client token and a worker token, or neither");
            }
            if (clientToken != null) {
                if (clientToken.isBlank() || workerToken.isBlank()) {
                    throw new IllegalArgumentException("tokens must not be blank");
                }
                if (adminToken != null && (adminToken.isBlank() || adminToken.equals(clientToken)
                        || adminToken.equals(workerToken))) {
                    throw new IllegalArgumentException("tokens: the admin token must not be blank and must differ from"
                            + " the client and worker tokens");
                }
                if (clientToken.equals(workerToken)) {
                    throw new IllegalArgumentException("tokens: the client and worker tokens must differ, or a client could attach as a worker");
                }
            }
            if (host.isBlank()) {
                throw new IllegalArgumentException("host must not be empty");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be within 0..65535, not " + port);
            }
            if (heartbeatTimeout.toMillis() < 1 || heartbeatTimeout.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("heartbeatTimeout must be between 1 ms and 24 days, not " + heartbeatTimeout);
            }
            if ((journal == JournalMode.OFF) != (journalDir == null)) {
                throw new IllegalArgumentException(journal == JournalMode.OFF ? "a journal directory was given but the journal is OFF"
                        : "the journal (" + journal + ") needs a directory");
            }
            if (maxTasksPerClient < 1) {
                throw new IllegalArgumentException("maxTasksPerClient must be at least 1, not " + maxTasksPerClient);
            }
            if (maxTaskBytesPerClient < 0 || maxTaskBytes < 0 || maxHeldBytesPerClient < 0 || maxSessions < 0) {
                throw new IllegalArgumentException("budgets must not be negative (0 means derived from the heap)");
            }
            if (maxCallsPerConnection < 1) {
                throw new IllegalArgumentException("maxCallsPerConnection must be at least 1, not " + maxCallsPerConnection);
            }
            if (maxWaitingPayloadFetches < 1) {
                throw new IllegalArgumentException("maxWaitingPayloadFetches must be at least 1, not "
                        + maxWaitingPayloadFetches);
            }
            if (maxIdleFunctionsPerClient < 128) {
                throw new IllegalArgumentException("maxIdleFunctionsPerClient must be at least 128, not "
                        + maxIdleFunctionsPerClient);
            }
            if (sessionGrace.isNegative()) {
                throw new IllegalArgumentException("sessionGrace must not be negative, not " + sessionGrace);
            }
            if (placementTimeout.toMillis() < 1) {
                throw new IllegalArgumentException("placementTimeout must be at least 1 ms, not " + placementTimeout);
            }
            return new CoordinatorConfig(this);
        }
    }
}
