package io.cohort.client;

import static io.cohort.client.OptionChecks.atLeast;
import static io.cohort.client.OptionChecks.bad;
import static io.cohort.client.OptionChecks.noNulls;
import static io.cohort.client.OptionChecks.notBlank;
import static io.cohort.client.OptionChecks.notNegative;
import static io.cohort.client.OptionChecks.positive;
import static io.cohort.client.OptionChecks.track;

import io.cohort.common.DeserializationFilter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * How {@code Cohort.connect} reaches a coordinator. Immutable and thread-safe; build with
 * {@link #builder()}.
 *
 * <p>{@code target} has no default and {@link Builder#build()} requires it. Defaults of the
 * rest: no {@code authToken}, no TLS ({@code trustCertificates}, {@code clientCertificate}),
 * {@code connectTimeout} 10 s, {@code reconnectTimeout} 30 s, {@code callbackExecutor} Cohort's
 * own, {@code clientName} {@value #DEFAULT_CLIENT_NAME}.
 * {@code maxInFlight} none ({@code blockWhenFull} true), no {@code deserializationFilter} (the
 * client decodes plain values, collections of them, records, enums and {@code java.base}
 * exceptions, and refuses known gadget classes).
 */
public final class ClientConfig {
    /** The default {@link #clientName()}. */
    public static final String DEFAULT_CLIENT_NAME = "cohort-client";

    /**
     * Every field at its default and no target: a template for {@code DEFAULTS.toBuilder()}.
     * Its {@link #target()} is null, so connecting with it fails.
     */
    public static final ClientConfig DEFAULTS = new ClientConfig(null, null, null, null, null,
            Duration.ofSeconds(10), Duration.ofSeconds(30), null, DEFAULT_CLIENT_NAME, 0, true, null);

    private final String target;
    private final String authToken;
    private final Path trustCertificates;
    private final Path clientCertificate;
    private final Path clientKey;
    private final Duration connectTimeout;
    private final Duration reconnectTimeout;
    private final Executor callbackExecutor;
    private final String clientName;
    private final Boolean shipCode;   // null: cohort.shipCode, else true
    private final List<Path> ship;    // null: the class path's
    private final int maxInFlight;            // 0: no limit
    private final boolean blockWhenFull;
    private final String deserializationFilter;   // null: none

    private ClientConfig(String target, String authToken, Path trustCertificates,
                         Path clientCertificate, Path clientKey, Duration connectTimeout,
                         Duration reconnectTimeout, Executor callbackExecutor, String clientName,
                         int maxInFlight, boolean blockWhenFull, String deserializationFilter) {
        this(target, authToken, trustCertificates, clientCertificate, clientKey, connectTimeout, reconnectTimeout,
                callbackExecutor, clientName, maxInFlight, blockWhenFull, deserializationFilter, null, null);
    }

    private ClientConfig(String target, String authToken, Path trustCertificates, Path clientCertificate,
                         Path clientKey, Duration connectTimeout, Duration reconnectTimeout,
                         Executor callbackExecutor, String clientName,
                         int maxInFlight, boolean blockWhenFull, String deserializationFilter,
                         Boolean shipCode, List<Path> ship) {
        this.shipCode = shipCode;
        this.ship = ship;
        this.deserializationFilter = deserializationFilter;
        this.maxInFlight = maxInFlight;
        this.blockWhenFull = blockWhenFull;
        this.target = target;
        this.authToken = authToken;
        this.trustCertificates = trustCertificates;
        this.clientCertificate = clientCertificate;
        this.clientKey = clientKey;
        this.connectTimeout = connectTimeout;
        this.reconnectTimeout = reconnectTimeout;
        this.callbackExecutor = callbackExecutor;
        this.clientName = clientName;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.target = target;
        b.authToken = authToken;
        b.trustCertificates = trustCertificates;
        b.clientCertificate = clientCertificate;
        b.clientKey = clientKey;
        b.connectTimeout = connectTimeout;
        b.reconnectTimeout = reconnectTimeout;
        b.callbackExecutor = callbackExecutor;
        b.clientName = clientName;
        b.maxInFlight = maxInFlight;
        b.blockWhenFull = blockWhenFull;
        b.deserializationFilter = deserializationFilter;
        b.shipCode = shipCode;
        b.ship = ship;
        return b;
    }

    /**
     * Whether the class path's jars and class directories the workers lack are shipped (see
     * {@link Builder#shipCode}). Unset in code: the system property {@code cohort.shipCode}, else true.
     */
    public boolean shipCode() {
        return shipCode != null ? shipCode : !"false".equalsIgnoreCase(System.getProperty("cohort.shipCode", "true"));
    }

    /** Exactly these jars and class directories are shipped, when set ({@link Builder#ship}). */
    public Optional<List<Path>> ship() {
        return Optional.ofNullable(ship);
    }

    /** The coordinator's address, {@code "host:port"}; null only in {@link #DEFAULTS}. */
    public String target() {
        return target;
    }

    /** The token sent with every call; empty (the default) for none. */
    public Optional<String> authToken() {
        return Optional.ofNullable(authToken);
    }

    /** The CA bundle to trust; present means TLS. Empty (the default): plaintext. */
    public Optional<Path> trustCertificates() {
        return Optional.ofNullable(trustCertificates);
    }

    /** The client's certificate chain for mutual TLS; empty (the default) for none. */
    public Optional<Path> clientCertificate() {
        return Optional.ofNullable(clientCertificate);
    }

    /** The private key of {@link #clientCertificate()}; present exactly when it is. */
    public Optional<Path> clientKey() {
        return Optional.ofNullable(clientKey);
    }

    /** How long connecting may take; default 10 s. */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** How long a lost session is retried before its futures fail; default 30 s. */
    public Duration reconnectTimeout() {
        return reconnectTimeout;
    }

    /** Where future callbacks run; empty (the default) means Cohort's own executor. */
    public Optional<Executor> callbackExecutor() {
        return Optional.ofNullable(callbackExecutor);
    }

    /** The name the client gives the coordinator, shown in its logs; default "cohort-client". */
    public String clientName() {
        return clientName;
    }

    /** At most this many tasks submitted and not yet answered; empty (the default): no limit. */
    public OptionalInt maxInFlight() {
        return maxInFlight == 0 ? OptionalInt.empty() : OptionalInt.of(maxInFlight);
    }

    /**
     * At the {@link #maxInFlight()} limit, true (the default): submit blocks until a task is
     * answered; false: submit throws {@link java.util.concurrent.RejectedExecutionException}.
     */
    public boolean blockWhenFull() {
        return blockWhenFull;
    }

    /**
     * The pattern naming the classes this client decodes (results, exceptions, shared-object
     * values) beyond the built-in allow-list; empty (the default) for none.
     */
    public Optional<String> deserializationFilter() {
        return Optional.ofNullable(deserializationFilter);
    }

    /** The filter every decode of this client goes through: the built-in refusals and allow-list, and the pattern. */
    DeserializationFilter filter() {
        return DeserializationFilter.client(deserializationFilter);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClientConfig c && Objects.equals(target, c.target)
                && maxInFlight == c.maxInFlight && blockWhenFull == c.blockWhenFull
                && Objects.equals(authToken, c.authToken)
                && Objects.equals(trustCertificates, c.trustCertificates)
                && Objects.equals(clientCertificate, c.clientCertificate)
                && Objects.equals(clientKey, c.clientKey)
                && connectTimeout.equals(c.connectTimeout)
                && reconnectTimeout.equals(c.reconnectTimeout)
                && callbackExecutor == c.callbackExecutor && clientName.equals(c.clientName)
                && Objects.equals(deserializationFilter, c.deserializationFilter)
                && Objects.equals(shipCode, c.shipCode) && Objects.equals(ship, c.ship);
    }

    @Override
    public int hashCode() {
        return Objects.hash(target, authToken, trustCertificates, clientCertificate, clientKey,
                connectTimeout, reconnectTimeout, System.identityHashCode(callbackExecutor),
                clientName, maxInFlight, blockWhenFull, deserializationFilter);
    }

    /** Shows whether an auth token is set, never the token. */
    @Override
    public String toString() {
        return "ClientConfig{target=" + target
                + ", authToken=" + (authToken == null ? "none" : "***")
                + ", trustCertificates=" + trustCertificates
                + ", clientCertificate=" + clientCertificate + ", clientKey=" + clientKey
                + ", connectTimeout=" + connectTimeout + ", reconnectTimeout=" + reconnectTimeout
                + ", callbackExecutor=" + (callbackExecutor == null ? "default" : callbackExecutor)
                + ", clientName=" + clientName
                + ", maxInFlight=" + (maxInFlight == 0 ? "none" : maxInFlight) + ", blockWhenFull=" + blockWhenFull
                + ", deserializationFilter=" + (deserializationFilter == null ? "none" : deserializationFilter) + "}";
    }

    /**
     * Builds {@link ClientConfig}. Not thread-safe. Setters accept any value; {@link #build()}
     * checks them all and throws {@link IllegalArgumentException} naming the first bad field.
     */
    public static final class Builder {
        private final Set<String> nulls = new LinkedHashSet<>();
        private String target;
        private String authToken;
        private Path trustCertificates;
        private Path clientCertificate;
        private Path clientKey;
        private Duration connectTimeout = DEFAULTS.connectTimeout;
        private Duration reconnectTimeout = DEFAULTS.reconnectTimeout;
        private Executor callbackExecutor;
        private String clientName = DEFAULT_CLIENT_NAME;
        private int maxInFlight;
        private boolean maxInFlightSet;
        private boolean blockWhenFull = true;
        private String deserializationFilter;
        private Boolean shipCode;
        private List<Path> ship;

        private Builder() {}

        /**
         * Ship the application's code with the session (default true): the jars and class
         * directories of this JVM's class path except the JDK's, Cohort's and its dependencies'.
         * Workers fetch them by SHA-256 and run this client's tasks in a class loader of their
         * own. False: tasks run on the workers' {@code --classpath}, which must then hold the
         * same build of every class a task uses (a worker refuses a different one).
         */
        public Builder shipCode(boolean ship) {
            this.shipCode = ship;
            return this;
        }

        /** Ship exactly these jars and class directories, instead of the class path's. Default: not set. */
        public Builder ship(List<Path> paths) {
            java.util.Objects.requireNonNull(paths, "ClientConfig.ship");
            for (Path p : paths) {
                java.util.Objects.requireNonNull(p, "ClientConfig.ship: a path is null");
            }
            this.ship = List.copyOf(paths);
            return this;
        }

        /**
         * The coordinator's address, {@code "host:port"} (an IPv6 host in brackets:
         * {@code "[::1]:7070"}), port 1 to 65535. Required: no default.
         */
        public Builder target(String target) {
            this.target = track(nulls, "ClientConfig.target", target);
            return this;
        }

        /** A token sent with every call; non-blank. Default: none. */
        public Builder authToken(String authToken) {
            this.authToken = track(nulls, "ClientConfig.authToken", authToken);
            return this;
        }

        /** The CA bundle to trust; setting it enables TLS. Default: none (plaintext). */
        public Builder trustCertificates(Path trustCertificates) {
            this.trustCertificates =
                    track(nulls, "ClientConfig.trustCertificates", trustCertificates);
            return this;
        }

        /** The client's certificate chain and private key, for mutual TLS. Default: none. */
        public Builder clientCertificate(Path cert, Path key) {
            this.clientCertificate = track(nulls, "ClientConfig.clientCertificate", cert);
            this.clientKey = track(nulls, "ClientConfig.clientCertificate key", key);
            return this;
        }

        /** How long connecting may take, {@code > 0}; default 10 s. */
        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = track(nulls, "ClientConfig.connectTimeout", connectTimeout);
            return this;
        }

        /**
         * How long a lost session is retried before its futures fail, {@code >= 0} (zero: fail at
         * once); default 30 s.
         */
        public Builder reconnectTimeout(Duration reconnectTimeout) {
            this.reconnectTimeout = track(nulls, "ClientConfig.reconnectTimeout", reconnectTimeout);
            return this;
        }

        /** Where future callbacks run. Default: an executor of Cohort's own. */
        public Builder callbackExecutor(Executor callbackExecutor) {
            this.callbackExecutor = track(nulls, "ClientConfig.callbackExecutor", callbackExecutor);
            return this;
        }

        /** The name given to the coordinator, non-blank; default "cohort-client". */
        public Builder clientName(String clientName) {
            this.clientName = track(nulls, "ClientConfig.clientName", clientName);
            return this;
        }

        /**
         * Built-in backpressure: at most this many tasks in flight (submitted, not yet answered),
         * {@code >= 1}. Default: no limit.
         */
        public Builder maxInFlight(int tasks) {
            this.maxInFlight = tasks;
            this.maxInFlightSet = true;
            return this;
        }

        /** At the limit, block (true, the default) or throw RejectedExecutionException (false). */
        public Builder blockWhenFull(boolean block) {
            this.blockWhenFull = block;
            return this;
        }

        /**
         * The classes this client decodes (results, exceptions, shared-object values) beyond
         * the built-in allow-list, in the JDK's {@code ObjectInputFilter} pattern syntax
         * ({@code jdk.serialFilter} style), e.g. {@code "com.example.**"} for an application's
         * classes. Without it the client decodes only plain values (boxed numbers, strings,
         * {@code BigInteger}, {@code BigDecimal}, {@code java.time}, {@code UUID}...), the JDK's
         * collections of them, records, enums, arrays of these or of primitives, exceptions of
         * {@code java.base}, and Cohort's own classes. Known gadget classes are refused whatever
         * the pattern says; a {@code !} pattern refuses more. Default: none. A refused result
         * fails its future with a {@link CohortException} naming the class and this setting; a
         * task's exception of a refused class arrives as a {@link RemoteTaskException} (its
         * class name, message and frames).
         */
        public Builder deserializationFilter(String pattern) {
            this.deserializationFilter = track(nulls, "ClientConfig.deserializationFilter", pattern);
            return this;
        }

        /** @throws IllegalArgumentException naming the first bad field, or "target is required" */
        public ClientConfig build() {
            noNulls(nulls);
            if (target == null) {
                throw new IllegalArgumentException("ClientConfig.target is required");
            }
            checkTarget(target);
            if (authToken != null) {
                notBlank("ClientConfig.authToken", authToken);
            }
            if (clientCertificate != null && trustCertificates == null) {
                throw bad("ClientConfig.clientCertificate", "needs trustCertificates: mutual TLS runs over TLS");
            }
            if (maxInFlightSet) {
                atLeast("ClientConfig.maxInFlight", maxInFlight, 1);
            }
            positive("ClientConfig.connectTimeout", connectTimeout);
            notNegative("ClientConfig.reconnectTimeout", reconnectTimeout);
            notBlank("ClientConfig.clientName", clientName);
            String filter = deserializationFilter == null ? null
                    : OptionChecks.filterPattern("ClientConfig.deserializationFilter", deserializationFilter);
            return new ClientConfig(target, authToken, trustCertificates, clientCertificate,
                    clientKey, connectTimeout, reconnectTimeout, callbackExecutor, clientName,
                    maxInFlight, blockWhenFull, filter, shipCode, ship);
        }
    }

    /** Checks {@code "host:port"}, with an IPv6 host in brackets. */
    static void checkTarget(String target) {
        String field = "ClientConfig.target";
        String shape = "must be \"host:port\", got \"" + target + "\"";
        String host;
        String port;
        if (target.startsWith("[")) {
            int close = target.indexOf(']');
            if (close < 0 || close + 1 >= target.length() || target.charAt(close + 1) != ':') {
                throw bad(field, shape);
            }
            host = target.substring(1, close);
            port = target.substring(close + 2);
        } else {
            int colon = target.lastIndexOf(':');
            if (colon < 0) {
                throw bad(field, shape);
            }
            host = target.substring(0, colon);
            port = target.substring(colon + 1);
            if (host.indexOf(':') >= 0) {
                throw bad(field, shape + " (put an IPv6 host in brackets)");
            }
        }
        if (host.isEmpty() || host.chars().anyMatch(c -> Character.isWhitespace(c) || c == '/')) {
            throw bad(field, shape);
        }
        if (port.isEmpty() || port.length() > 5
                || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw bad(field, shape);
        }
        int p = Integer.parseInt(port);
        if (p < 1 || p > 65535) {
            throw bad(field, "port must be 1 to 65535, got " + p);
        }
    }
}
