package io.cohort.worker;

import io.cohort.common.ChannelSecurity;
import io.cohort.common.Codec;
import io.cohort.common.DeserializationFilter;
import java.net.InetAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How a worker daemon runs. Immutable; built by {@link #builder()}, whose {@code build()}
 * fails fast with an {@link IllegalArgumentException} naming the bad field.
 */
public final class WorkerConfig {
    /** Default adaptive prefetch ceiling, per slot: enough to cover a round trip at tasks of a few µs. */
    public static final int SHORT_TASKS_PER_SLOT = 1024;

    private final String coordinator;
    private final String workerId;
    private final int slots;
    private final int prefetch;
    private final int maxPrefetch;
    private final Map<String, Double> resources;
    private final Set<String> labels;
    private final ClassLoader classLoader;
    private final Codec codec;
    private final DeserializationFilter deserializationFilter;
    private final Duration drainTimeout;
    private final Duration heartbeatInterval;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final String host;
    private final ChannelSecurity security;
    private final JvmOptionPolicy jvmOptions;
    private final java.nio.file.Path codeCacheDir;
    private final long codeCacheBytes;

    private WorkerConfig(Builder b) {
        this.security = b.security;
        this.jvmOptions = b.jvmOptions;
        this.codeCacheDir = b.codeCacheDir;
        this.codeCacheBytes = b.codeCacheBytes;
        this.coordinator = b.coordinator;
        this.workerId = b.workerId;
        this.slots = b.slots;
        this.prefetch = b.prefetch >= 0 ? b.prefetch : b.slots;
        // A prefetch set by hand stays fixed unless a maximum is set too.
        long adaptive = b.maxPrefetch >= 0 ? b.maxPrefetch
                : b.prefetch >= 0 ? this.prefetch : (long) SHORT_TASKS_PER_SLOT * b.slots;
        this.maxPrefetch = (int) Math.min(Integer.MAX_VALUE - b.slots, Math.max(this.prefetch, adaptive));
        this.resources = Map.copyOf(b.resources);
        this.labels = Set.copyOf(b.labels);
        this.classLoader = b.classLoader != null ? b.classLoader : WorkerConfig.class.getClassLoader();
        this.deserializationFilter = b.deserializationFilter;
        this.codec = b.codec != null ? b.codec : Codec.filtered(b.deserializationFilter);
        this.drainTimeout = b.drainTimeout;
        this.heartbeatInterval = b.heartbeatInterval;
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
        this.host = b.host != null ? b.host : localHostName();
    }

    /** Where shipped bundles are kept; empty: a temporary directory of the daemon's, deleted when it stops. */
    public Optional<java.nio.file.Path> codeCacheDir() {
        return Optional.ofNullable(codeCacheDir);
    }

    /** The most bytes of shipped bundles kept on disk, least recently used out. */
    public long codeCacheBytes() {
        return codeCacheBytes;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The coordinator's address, "host:port". */
    public String coordinator() {
        return coordinator;
    }

    /** The id asked for; empty lets the coordinator choose. */
    public String workerId() {
        return workerId;
    }

    public int slots() {
        return slots;
    }

    public int prefetch() {
        return prefetch;
    }

    /**
     * The most tasks held beyond the slots when the coordinator has seen them run briefly
     * (adaptive prefetch); default {@value #SHORT_TASKS_PER_SLOT} per slot, or the prefetch
     * when that was set by hand.
     */
    public int maxPrefetch() {
        return maxPrefetch;
    }

    public Map<String, Double> resources() {
        return resources;
    }

    public Set<String> labels() {
        return labels;
    }

    /** Resolves task classes while decoding; the context class loader of task threads. */
    public ClassLoader classLoader() {
        return classLoader;
    }

    public Codec codec() {
        return codec;
    }

    /** What guards every decode here and in the child JVMs; default the built-in gadget refusals alone. */
    public DeserializationFilter deserializationFilter() {
        return deserializationFilter;
    }

    public Duration drainTimeout() {
        return drainTimeout;
    }

    /** Empty: a quarter of the coordinator's heartbeat timeout. */
    public Optional<Duration> heartbeatInterval() {
        return Optional.ofNullable(heartbeatInterval);
    }

    public Duration initialBackoff() {
        return initialBackoff;
    }

    public Duration maxBackoff() {
        return maxBackoff;
    }

    /** The host name sent in the hello. */
    /** TLS and the worker token for the channel to the coordinator; default plaintext, no token. */
    public ChannelSecurity security() {
        return security;
    }

    public String host() {
        return host;
    }

    /** Which JVM options process tasks may give their child JVMs. */
    JvmOptionPolicy jvmOptionPolicy() {
        return jvmOptions;
    }

    @Override
    public String toString() {
        return "WorkerConfig{coordinator=" + coordinator + ", workerId=" + workerId + ", slots=" + slots
                + ", prefetch=" + prefetch + ", maxPrefetch=" + maxPrefetch + ", resources=" + resources + ", labels=" + labels
                + ", drainTimeout=" + drainTimeout + ", heartbeatInterval=" + heartbeatInterval
                + ", deserializationFilter=" + deserializationFilter + ", allowedJvmOptions=+" + jvmOptions.extra() + "}";
    }

    private static String localHostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "localhost";
        }
    }

    /** Builds a {@link WorkerConfig}. Not thread-safe. */
    public static final class Builder {
        private String coordinator;
        private String workerId = "";
        private int slots = Runtime.getRuntime().availableProcessors();
        private int prefetch = -1;
        private int maxPrefetch = -1;
        private final Map<String, Double> resources = new LinkedHashMap<>();
        private final Set<String> labels = new LinkedHashSet<>();
        private ClassLoader classLoader;
        private Codec codec;
        private DeserializationFilter deserializationFilter = DeserializationFilter.standard();
        private Duration drainTimeout = Duration.ofSeconds(30);
        private Duration heartbeatInterval;
        private Duration initialBackoff = Duration.ofMillis(100);
        private Duration maxBackoff = Duration.ofSeconds(5);
        private String host;
        private ChannelSecurity security = ChannelSecurity.PLAINTEXT;
        private JvmOptionPolicy jvmOptions = JvmOptionPolicy.of(java.util.List.of());
        private java.nio.file.Path codeCacheDir;
        private long codeCacheBytes = 1L << 30;

        private Builder() {}

        /**
         * Keep shipped bundles in {@code dir} (across restarts), at most {@code maxBytes} of them,
         * least recently used out. Default: a temporary directory deleted when the daemon stops, 1 GiB.
         */
        public Builder codeCache(java.nio.file.Path dir, long maxBytes) {
            if (maxBytes < 1) {
                throw new IllegalArgumentException("codeCache maxBytes must be at least 1, not " + maxBytes);
            }
            this.codeCacheDir = dir;
            this.codeCacheBytes = maxBytes;
            return this;
        }

        /** Required: the coordinator's "host:port" (any gRPC target). */
        public Builder coordinator(String target) {
            if (target == null || target.isBlank()) {
                throw new IllegalArgumentException("coordinator must be host:port, was " + target);
            }
            this.coordinator = target.strip();
            return this;
        }

        /** The id to ask for; default empty (the coordinator chooses). */
        public Builder workerId(String id) {
            this.workerId = Objects.requireNonNull(id, "workerId").strip();
            return this;
        }

        /** Tasks run at once; default the number of available processors. */
        public Builder slots(int slots) {
            if (slots < 1) {
                throw new IllegalArgumentException("slots must be at least 1, was " + slots);
            }
            this.slots = slots;
            return this;
        }

        /** Tasks held beyond the slots, queued locally; default equal to slots. */
        public Builder prefetch(int prefetch) {
            if (prefetch < 0) {
                throw new IllegalArgumentException("prefetch must not be negative, was " + prefetch);
            }
            this.prefetch = prefetch;
            return this;
        }

        /**
         * The most tasks held beyond the slots when they are short (see {@link WorkerConfig#maxPrefetch});
         * not above {@code prefetch}: no adaptive prefetch.
         */
        public Builder maxPrefetch(int maxPrefetch) {
            if (maxPrefetch < 0) {
                throw new IllegalArgumentException("maxPrefetch must not be negative, was " + maxPrefetch);
            }
            this.maxPrefetch = maxPrefetch;
            return this;
        }

        /** Resources offered to each task (e.g. gpu=1, memoryMb=4096); default none. */
        public Builder resources(Map<String, Double> resources) {
            Objects.requireNonNull(resources, "resources");
            resources.forEach((name, amount) -> {
                if (name == null || name.isBlank()) {
                    throw new IllegalArgumentException("resources: a resource name is blank");
                }
                if (amount == null || amount.isNaN() || amount < 0) {
                    throw new IllegalArgumentException("resources: " + name + " must be a number >= 0, was " + amount);
                }
            });
            this.resources.clear();
            this.resources.putAll(resources);
            return this;
        }

        /** Labels carried ("zone=a", "gpu"); default none. */
        public Builder labels(Set<String> labels) {
            Objects.requireNonNull(labels, "labels");
            for (String l : labels) {
                if (l == null || l.isBlank()) {
                    throw new IllegalArgumentException("labels: a label is blank");
                }
            }
            this.labels.clear();
            this.labels.addAll(labels);
            return this;
        }

        /** Loads task classes; default the loader of the worker's own classes. */
        public Builder classLoader(ClassLoader loader) {
            this.classLoader = Objects.requireNonNull(loader, "classLoader");
            return this;
        }

        /**
         * Default {@link Codec#standard()} behind {@link #deserializationFilter}; must match the
         * clients'. Not with a deserialization filter: a codec brings its own.
         */
        public Builder codec(Codec codec) {
            this.codec = Objects.requireNonNull(codec, "codec");
            return this;
        }

        /**
         * An allow-list for what tasks bring here (bodies, arguments, shared-object values), in
         * the JDK's {@code ObjectInputFilter} pattern syntax ({@code jdk.serialFilter} style),
         * e.g. {@code "com.example.**;java.base/*;!*"}. It is combined with the built-in
         * refusals of gadget classes, which always win; Cohort's own classes are always
         * admitted. Child JVMs started for {@code Isolation.PROCESS} get the same filter.
         * Default: none (the built-in refusals alone).
         */
        public Builder deserializationFilter(String pattern) {
            this.deserializationFilter = DeserializationFilter.of(pattern, DeserializationFilter.WORKER_SETTING);
            return this;
        }

        /** How long a drain lets running tasks finish before interrupting them; default 30 s. */
        public Builder drainTimeout(Duration timeout) {
            this.drainTimeout = nonNegative("drainTimeout", timeout);
            return this;
        }

        /** Idle time before a heartbeat; default a quarter of the coordinator's heartbeat timeout. */
        public Builder heartbeatInterval(Duration interval) {
            this.heartbeatInterval = positive("heartbeatInterval", interval);
            return this;
        }

        /** First reconnect delay, doubled per failure; default 100 ms. */
        public Builder initialBackoff(Duration backoff) {
            this.initialBackoff = positive("initialBackoff", backoff);
            return this;
        }

        /** Longest reconnect delay; default 5 s. */
        public Builder maxBackoff(Duration backoff) {
            this.maxBackoff = positive("maxBackoff", backoff);
            return this;
        }

        /** Host name sent in the hello; default this machine's name. */
        public Builder host(String host) {
            if (host == null || host.isBlank()) {
                throw new IllegalArgumentException("host must not be blank");
            }
            this.host = host;
            return this;
        }

        /** TLS and the worker token; default {@link ChannelSecurity#PLAINTEXT}. */
        public Builder security(ChannelSecurity security) {
            this.security = Objects.requireNonNull(security, "security");
            return this;
        }

        /**
         * JVM options process tasks may use beyond the defaults (heap, stack and GC sizing,
         * assertions, -D properties outside java.*, jdk.* and sun.*): Java regular expressions,
         * each matched against a whole option. A task with another option fails, naming it.
         */
        public Builder allowJvmOptions(java.util.List<String> patterns) {
            this.jvmOptions = JvmOptionPolicy.of(Objects.requireNonNull(patterns, "allowJvmOptions"));
            return this;
        }

        public WorkerConfig build() {
            if (coordinator == null) {
                throw new IllegalArgumentException("coordinator is required (host:port)");
            }
            if (maxBackoff.compareTo(initialBackoff) < 0) {
                throw new IllegalArgumentException("maxBackoff (" + maxBackoff + ") is below initialBackoff ("
                        + initialBackoff + ")");
            }
            if (codec != null && deserializationFilter != DeserializationFilter.standard()) {
                throw new IllegalArgumentException("codec and deserializationFilter are incompatible: the codec "
                        + "brings its own filter");
            }
            if (heartbeatInterval != null && heartbeatInterval.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("heartbeatInterval is too long: " + heartbeatInterval);
            }
            return new WorkerConfig(this);
        }

        private static Duration nonNegative(String field, Duration d) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException(field + " must be >= 0, was " + d);
            }
            return d;
        }

        private static Duration positive(String field, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(field + " must be > 0, was " + d);
            }
            return d;
        }
    }
}
