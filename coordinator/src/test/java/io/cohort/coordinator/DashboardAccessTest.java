package io.cohort.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.coordinator.watch.WatchConfig;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may reach the dashboard and the metrics: beyond loopback only with TLS and tokens; with
 * tokens, only a client or admin token (a header, or the cookie the page sets from ?token=);
 * without tokens, only under an IP address or localhost.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DashboardAccessTest {
    @TempDir
    Path dir;

    @Test
    void aPlaintextOrTokenlessBindBeyondLoopbackIsRefusedNamingTheFlags() throws Exception {
        CoordinatorConfig plain = CoordinatorConfig.builder().port(0).watch(new WatchConfig("0.0.0.0", 0, 0)).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CoordinatorServer.start(plain));
        assertTrue(e.getMessage().contains("refusing to serve the dashboard and metrics on 0.0.0.0")
                && e.getMessage().contains("--tls-cert") && e.getMessage().contains("--client-token-file")
                && e.getMessage().contains("--insecure"), e.getMessage());
        TestCertificates certs = TestCertificates.create(dir);
        CoordinatorConfig tlsOnly = CoordinatorConfig.builder().port(0).tls(certs.serverCert(), certs.serverKey())
                .watch(new WatchConfig("0.0.0.0", WatchConfig.OFF, 0)).build();
        assertThrows(IllegalArgumentException.class, () -> CoordinatorServer.start(tlsOnly), "TLS without tokens");
    }

    @Test
    void overTlsOnlyAClientOrAdminTokenReadsThePagesAndTheBrowserGetsItAsACookie() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        CoordinatorConfig config = CoordinatorConfig.builder().port(0).tls(certs.serverCert(), certs.serverKey())
                .tokens("client-secret", "worker-secret").adminToken("admin-secret")
                .watch(new WatchConfig("127.0.0.1", 0, 0)).build();
        try (CoordinatorServer coordinator = CoordinatorServer.start(config)) {
            assertEquals(coordinator.dashboardPort(), coordinator.metricsPort(), "equal ports share one server");
            HttpClient https = HttpClient.newBuilder().sslContext(trusting(certs.caCert()))
                    .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();
            String base = "https://127.0.0.1:" + coordinator.dashboardPort();
            assertEquals(401, get(https, base + "/metrics", null, null).statusCode());
            assertEquals(401, get(https, base + "/metrics", "Bearer worker-secret", null).statusCode(), "a worker token");
            assertEquals(401, get(https, base + "/", "Bearer client-secret-not", null).statusCode());
            HttpResponse<String> metrics = get(https, base + "/metrics", "Bearer client-secret", null);
            assertEquals(200, metrics.statusCode());
            assertTrue(metrics.body().contains("cohort_tasks_submitted_total"), metrics.body());
            assertEquals(200, get(https, base + "/snapshot", "Bearer admin-secret", null).statusCode(), "the admin token");

            HttpResponse<String> login = get(https, base + "/?token=client-secret", null, null);
            assertEquals(303, login.statusCode());
            assertEquals("/", login.headers().firstValue("Location").orElseThrow(), "the token leaves the address bar");
            String cookie = login.headers().firstValue("Set-Cookie").orElseThrow();
            assertTrue(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict"), cookie);
            HttpResponse<String> page = get(https, base + "/", null, cookie.substring(0, cookie.indexOf(';')));
            assertEquals(200, page.statusCode());
            assertTrue(page.body().contains("dashboard.js"), page.body());
            HttpResponse<String> wrong = get(https, base + "/?token=wrong", null, null);
            assertEquals(401, wrong.statusCode(), "a wrong token is refused");
            assertTrue(wrong.headers().firstValue("Set-Cookie").isEmpty(), "and sets no cookie");
        }
    }

    @Test
    void withoutTokensAPageUnderAnotherNameIsRefused() throws Exception {
        try (CoordinatorServer coordinator = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .watch(new WatchConfig("127.0.0.1", 0, WatchConfig.OFF)).build())) {
            assertEquals(coordinator.dashboardPort(), coordinator.metricsPort(), "the dashboard serves /metrics too");
            assertTrue(rawGet(coordinator.dashboardPort(), "127.0.0.1:" + coordinator.dashboardPort()).startsWith("HTTP/1.1 200"));
            assertTrue(rawGet(coordinator.dashboardPort(), "localhost").startsWith("HTTP/1.1 200"));
            // A site whose name was rebound to 127.0.0.1 sends its own name.
            String rebound = rawGet(coordinator.dashboardPort(), "attacker.example:" + coordinator.dashboardPort());
            assertTrue(rebound.startsWith("HTTP/1.1 403"), rebound);
        }
    }

    private static HttpResponse<String> get(HttpClient client, String url, String authorization, String cookie)
            throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20));
        if (authorization != null) {
            r.header("Authorization", authorization);
        }
        if (cookie != null) {
            r.header("Cookie", cookie);
        }
        return client.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** GET /snapshot with this Host header (the JDK's HttpClient will not send a made-up one). */
    private static String rawGet(int port, String host) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET /snapshot HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static SSLContext trusting(Path caPem) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caPem)) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }
}
