package io.cohort.coordinator.watch;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.cohort.common.metrics.Meters;
import io.cohort.common.metrics.WireBytes;
import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.server.Authenticator;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The coordinator's HTTP side: its Prometheus endpoint and its dashboard, on the JDK's own
 * HTTP server, each on its port (one server when the ports are equal). The scheduler's thread
 * only feeds the {@link Recorder}; the view, the meters and the pages run on threads of their
 * own. Beyond loopback it serves only with the coordinator's TLS certificate and tokens (or
 * {@code --insecure}), like the gRPC API. Thread-safe.
 */
public final class Console implements AutoCloseable {
    /** Pages and scrapes served at once; an event stream holds one for as long as it is open. */
    static final int HTTP_THREADS = 16;

    private final Watch watch;
    private final PrometheusMeterRegistry registry;
    private final List<HttpServer> servers;
    private final ThreadPoolExecutor httpThreads;
    private final DashboardPages pages;
    private final int dashboardPort;
    private final int metricsPort;

    private Console(Watch watch, PrometheusMeterRegistry registry, List<HttpServer> servers,
                    ThreadPoolExecutor httpThreads, DashboardPages pages, int dashboardPort, int metricsPort) {
        this.watch = watch;
        this.registry = registry;
        this.servers = servers;
        this.httpThreads = httpThreads;
        this.pages = pages;
        this.dashboardPort = dashboardPort;
        this.metricsPort = metricsPort;
    }

    /**
     * Binds the ports (IOException) and starts serving what {@code recorder} (which the caller
     * gave the scheduler and its loop) and {@code wire} (given to the gRPC server) see.
     */
    public static Console start(CoordinatorConfig config, WireBytes wire, Recorder recorder) throws IOException {
        WatchConfig ports = config.watch();
        ports.refuseUnsafe(config.insecure(), config.tls(), config.authenticates());
        InetAddress address = InetAddress.getByName(ports.host());
        PrometheusMeterRegistry registry = Meters.registry("coordinator", wire);
        CoordinatorMetrics samples = CoordinatorMetrics.register(registry);
        Watch watch = new Watch(recorder, samples, System::nanoTime, System.currentTimeMillis(),
                Executors.newSingleThreadScheduledExecutor(daemon("cohort-watch")));
        CoordinatorMetrics.bind(registry, recorder, watch);
        ThreadPoolExecutor threads = new ThreadPoolExecutor(0, HTTP_THREADS, 60, TimeUnit.SECONDS,
                new SynchronousQueue<>(), daemon("cohort-http"));
        Access access = new Access(config.authenticates() ? new Authenticator(config.clientToken().orElseThrow(),
                config.workerToken().orElseThrow(), config.adminToken().orElse(null)) : null, config.tls());
        DashboardPages pages = new DashboardPages(watch, HTTP_THREADS / 2);
        List<HttpServer> servers = new ArrayList<>(2);
        try {
            SSLContext tls = config.tls() ? sslContext(config) : null;
            HttpServer dashboard = null;
            if (ports.dashboardPort() != WatchConfig.OFF) {
                dashboard = bind(address, ports.dashboardPort(), tls, threads);
                servers.add(dashboard);
                pages.addTo(dashboard, access);
                access.protect(dashboard.createContext("/metrics", Meters.scrape(registry)));
            }
            HttpServer metrics = dashboard;
            if (ports.metricsPort() != WatchConfig.OFF && ports.metricsPort() != ports.dashboardPort()) {
                metrics = bind(address, ports.metricsPort(), tls, threads);
                servers.add(metrics);
                access.protect(metrics.createContext("/metrics", Meters.scrape(registry)));
            }
            for (HttpServer s : servers) {
                s.start();
            }
            return new Console(watch, registry, servers, threads, pages,
                    dashboard == null ? WatchConfig.OFF : dashboard.getAddress().getPort(),
                    metrics == null ? WatchConfig.OFF : metrics.getAddress().getPort());
        } catch (IOException | RuntimeException e) {
            for (HttpServer s : servers) {
                s.stop(0);
            }
            pages.close();
            watch.close();
            threads.shutdownNow();
            registry.close();
            throw e;
        }
    }

    private static HttpServer bind(InetAddress address, int port, SSLContext tls, ThreadPoolExecutor threads)
            throws IOException {
        InetSocketAddress at = new InetSocketAddress(address, port);
        HttpServer server;
        try {
            if (tls != null) {
                HttpsServer https = HttpsServer.create(at, 64);
                https.setHttpsConfigurator(new HttpsConfigurator(tls));
                server = https;
            } else {
                server = HttpServer.create(at, 64);
            }
        } catch (java.net.BindException e) {
            throw new IOException("cannot listen for HTTP on " + at + ": " + e.getMessage(), e);
        }
        server.setExecutor(threads);
        return server;
    }

    /** The coordinator's certificate chain and PKCS#8 key (the gRPC API's), as the JDK's TLS wants them. */
    private static SSLContext sslContext(CoordinatorConfig config) throws IOException {
        try (InputStream chain = Files.newInputStream(config.tlsCertificate().orElseThrow());
             InputStream key = Files.newInputStream(config.tlsKey().orElseThrow())) {
            X509Certificate[] certificates = CertificateFactory.getInstance("X.509").generateCertificates(chain)
                    .toArray(new X509Certificate[0]);
            PrivateKey privateKey = pkcs8(new String(key.readAllBytes(), StandardCharsets.US_ASCII));
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] password = new char[0];
            store.setKeyEntry("coordinator", privateKey, password, certificates);
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("the TLS certificate or key cannot serve HTTPS: " + e.getMessage(), e);
        }
    }

    /** A PEM "PRIVATE KEY" (PKCS#8, unencrypted), as gRPC's TLS reads it: RSA, EC or Ed25519. */
    private static PrivateKey pkcs8(String pem) throws GeneralSecurityException {
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new GeneralSecurityException("the key is not a PEM PKCS#8 'PRIVATE KEY'");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end));
        for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (InvalidKeySpecException notThisOne) {
                // try the next algorithm
            }
        }
        throw new GeneralSecurityException("the key is neither RSA, EC nor Ed25519");
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** The dashboard's bound port, or -1 when it is off. */
    public int dashboardPort() {
        return dashboardPort;
    }

    /** The Prometheus endpoint's bound port, or -1 when it is off. */
    public int metricsPort() {
        return metricsPort;
    }

    @Override
    public void close() {
        pages.close();   // open event streams end now rather than at their next write
        for (HttpServer s : servers) {
            s.stop(0);
        }
        watch.close();
        httpThreads.shutdownNow();
        registry.close();
    }
}
