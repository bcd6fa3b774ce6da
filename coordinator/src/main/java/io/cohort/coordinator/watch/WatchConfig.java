package io.cohort.coordinator.watch;

import java.util.Objects;

/**
 * Where the coordinator serves its dashboard and its Prometheus metrics over HTTP: one
 * address, a port for each ({@link #OFF} for none, 0 for any free one). Equal ports share one
 * server; the dashboard's server also answers {@code /metrics}.
 */
public record WatchConfig(String host, int dashboardPort, int metricsPort) {
    public static final int OFF = -1;
    public static final WatchConfig NONE = new WatchConfig("127.0.0.1", OFF, OFF);

    public WatchConfig {
        Objects.requireNonNull(host, "host");
        if (host.isBlank()) {
            throw new IllegalArgumentException("the HTTP host must not be empty");
        }
        check("dashboard port", dashboardPort);
        check("metrics port", metricsPort);
    }

    private static void check(String what, int port) {
        if (port < OFF || port > 65535) {
            throw new IllegalArgumentException(what + " must be within 0..65535 (or off), not " + port);
        }
    }

    /**
     * Throws IllegalArgumentException, naming the flags, when HTTP is asked for beyond loopback
     * without TLS and tokens (and without {@code insecure}).
     */
    public void refuseUnsafe(boolean insecure, boolean tls, boolean tokens) {
        boolean loopback;
        try {
            loopback = java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("the HTTP host " + host + " is unknown", e);
        }
        if (enabled() && !loopback && !insecure && !(tls && tokens)) {
            throw new IllegalArgumentException("refusing to serve the dashboard and metrics on " + host
                    + " in plaintext or without tokens: give the coordinator TLS (--tls-cert, --tls-key) and tokens"
                    + " (--client-token-file, --worker-token-file), keep --http-host on loopback,"
                    + " or pass --insecure to do it anyway");
        }
    }

    public boolean enabled() {
        return dashboardPort != OFF || metricsPort != OFF;
    }
}
