package io.cohort.coordinator;

import io.cohort.common.Protocol;
import java.time.Duration;
import java.util.Objects;

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

    private CoordinatorConfig(Builder b) {
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
                .placementTimeout(placementTimeout).insecure(insecure);
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

    @Override
    public String toString() {
        return "CoordinatorConfig[host=" + host + ", port=" + port + ", heartbeatTimeout=" + heartbeatTimeout
                + ", placementTimeout=" + placementTimeout + ", insecure=" + insecure + "]";
    }

    /** Not thread-safe. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = Protocol.DEFAULT_PORT;
        private Duration heartbeatTimeout = Duration.ofSeconds(10);
        private Duration placementTimeout = Duration.ofSeconds(30);
        private boolean insecure;

        private Builder() {}

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

        /** Throws IllegalArgumentException naming the first bad field. */
        public CoordinatorConfig build() {
            if (host.isBlank()) {
                throw new IllegalArgumentException("host must not be empty");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be within 0..65535, not " + port);
            }
            if (heartbeatTimeout.toMillis() < 1 || heartbeatTimeout.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("heartbeatTimeout must be between 1 ms and 24 days, not " + heartbeatTimeout);
            }
            if (placementTimeout.toMillis() < 1) {
                throw new IllegalArgumentException("placementTimeout must be at least 1 ms, not " + placementTimeout);
            }
            return new CoordinatorConfig(this);
        }
    }
}
