package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.common.ChannelSecurity;
import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import io.cohort.coordinator.TestCertificates;
import io.cohort.worker.WorkerConfig;
import io.cohort.worker.WorkerDaemon;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS, mutual TLS and tokens on real sockets: a coordinator in this JVM, a worker daemon JVM
 * attached with the worker token, and clients with right and wrong credentials.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SecurityTest {
    private static final String CLIENT_TOKEN = "client-secret-1";
    private static final String WORKER_TOKEN = "worker-secret-2";

    @TempDir
    static Path dir;
    private static TestCertificates certs;
    private static CoordinatorServer coordinator;
    private static WorkerProcesses workers;

    @BeforeAll
    static void startSecuredCluster() throws Exception {
        certs = TestCertificates.create(dir);
        coordinator = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .tls(certs.serverCert(), certs.serverKey()).tokens(CLIENT_TOKEN, WORKER_TOKEN).build());
        Path tokenFile = Files.writeString(dir.resolve("worker.token"), WORKER_TOKEN + "\n");
        java.nio.file.Files.setPosixFilePermissions(tokenFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        workers = new WorkerProcesses();
        workers.start(coordinator.target(), "secure-1", "--tls-ca", certs.caCert().toString(),
                "--token-file", tokenFile.toString());
    }

    @AfterAll
    static void stop() {
        if (workers != null) {
            workers.close();
        }
        if (coordinator != null) {
            coordinator.close();
        }
    }

    private static ClientConfig.Builder client() {
        return ClientConfig.builder().target(coordinator.target()).connectTimeout(Duration.ofSeconds(5));
    }

    @Test
    void aClientWithTheClientTokenOverTlsRunsTasksOnTheSecuredWorker() throws Exception {
        try (CohortExecutor ex = Cohort.connect(client().trustCertificates(certs.caCert())
                .authToken(CLIENT_TOKEN).build())) {
            TaskFuture<Integer> f = ex.submit(() -> 6 * 7);
            assertEquals(42, f.get(30, TimeUnit.SECONDS));
            assertEquals("secure-1", f.workerId());
            assertEquals(1, ex.clusterInfo().workers().size());
        }
    }

    /** This JVM's arguments as any local user sees them (/proc/PID/cmdline). */
    static List<String> ownCommandLine() throws java.io.IOException {
        byte[] raw = Files.readAllBytes(Path.of("/proc/" + ProcessHandle.current().pid() + "/cmdline"));
        return List.of(new String(raw, StandardCharsets.UTF_8).split("\0"));
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void aProcessPoolUsesSharedObjectsOverTlsWithTokensAndNoChildShowsAToken() throws Exception {
        try (CohortExecutor ex = Cohort.connect(client().trustCertificates(certs.caCert())
                .authToken(CLIENT_TOKEN).build());
             CohortPool pool = ex.pool(PoolOptions.builder().isolation(Isolation.PROCESS).build())) {
            SharedLong hits = ex.sharedLong("hits", 0);
            SharedMap<Integer, Long> pids = ex.sharedMap("pids");
            List<List<String>> commandLines = pool.map((Integer i) -> {
                hits.addAndGet(1);
                pids.put(i, ProcessHandle.current().pid());
                return ownCommandLine();
            }, List.of(1, 2, 3, 4, 5, 6));
            assertEquals(6, hits.get(), "every child JVM reached the coordinator over TLS with the worker token");
            long daemon = ex.clusterInfo().workers().get(0).pid();
            assertEquals(6, pids.size());
            for (int i = 1; i <= 6; i++) {
                assertTrue(pids.get(i) != daemon && pids.get(i) != ProcessHandle.current().pid(),
                        "ran in a child JVM of the worker, not the daemon");
            }
            for (List<String> args : commandLines) {
                assertTrue(args.contains("io.cohort.worker.ChildMain"), args::toString);
                assertTrue(args.stream().noneMatch(a -> a.contains(WORKER_TOKEN) || a.contains(CLIENT_TOKEN)
                        || a.matches(".*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}.*")), args::toString);
            }
        }
    }

    @Test
    void theWorkerTokenCannotSubmit() {
        CohortException e = assertThrows(CohortException.class, () -> Cohort.connect(
                client().trustCertificates(certs.caCert()).authToken(WORKER_TOKEN).build()).close());
        assertTrue(e.getMessage().contains("PERMISSION_DENIED"), e.getMessage());
    }

    @Test
    void noTokenOrAWrongOneIsRefused() {
        CohortException none = assertThrows(CohortException.class,
                () -> Cohort.connect(client().trustCertificates(certs.caCert()).build()).close());
        assertTrue(none.getMessage().contains("UNAUTHENTICATED"), none.getMessage());
        CohortException wrong = assertThrows(CohortException.class, () -> Cohort.connect(
                client().trustCertificates(certs.caCert()).authToken("guess").build()).close());
        assertTrue(wrong.getMessage().contains("UNAUTHENTICATED"), wrong.getMessage());
    }

    @Test
    void aClientThatDoesNotTrustTheServerCertificateIsNotConnected() {
        assertThrows(CohortException.class, () -> Cohort.connect(client().trustCertificates(certs.strangerCaCert())
                .authToken(CLIENT_TOKEN).build()).close());
        assertThrows(CohortException.class, () -> Cohort.connect(client().authToken(CLIENT_TOKEN).build()).close());
    }

    @Test
    void theClientTokenCannotAttachAsAWorker() throws Exception {
        WorkerDaemon daemon = WorkerDaemon.start(WorkerConfig.builder().coordinator(coordinator.target())
                .workerId("impostor").security(new ChannelSecurity(certs.caCert(), null, null, CLIENT_TOKEN)).build());
        assertEquals(1, daemon.termination().get(30, TimeUnit.SECONDS));
        String why = daemon.failure().orElseThrow();
        assertTrue(why.contains("PERMISSION_DENIED"), why);
    }

    @Test
    void mutualTlsAdmitsOnlyPeersWithACertificateFromItsCa() throws Exception {
        try (CoordinatorServer mtls = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .tls(certs.serverCert(), certs.serverKey()).clientCa(certs.caCert()).build())) {
            ClientConfig.Builder base = ClientConfig.builder().target(mtls.target()).connectTimeout(Duration.ofSeconds(5))
                    .trustCertificates(certs.caCert());
            assertThrows(CohortException.class, () -> Cohort.connect(base.build()).close());
            try (CohortExecutor ex = Cohort.connect(base.clientCertificate(certs.clientCert(), certs.clientKey()).build())) {
                assertEquals(0, ex.clusterInfo().workers().size());
            }
        }
    }

    @Test
    void aCoordinatorBeyondLoopbackWithoutTlsAndTokensRefusesToStartAndSaysWhy() {
        IllegalArgumentException plain = assertThrows(IllegalArgumentException.class,
                () -> CoordinatorServer.start(CoordinatorConfig.builder().host("0.0.0.0").port(0).build()));
        assertTrue(plain.getMessage().contains("TLS") && plain.getMessage().contains("tokens"), plain.getMessage());
        IllegalArgumentException tlsOnly = assertThrows(IllegalArgumentException.class,
                () -> CoordinatorServer.start(CoordinatorConfig.builder().host("0.0.0.0").port(0)
                        .tls(certs.serverCert(), certs.serverKey()).build()));
        assertTrue(tlsOnly.getMessage().contains("tokens") && !tlsOnly.getMessage().contains("TLS ("),
                tlsOnly.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CoordinatorConfig.builder().tokens("same", "same").build());
        assertThrows(IllegalArgumentException.class,
                () -> CoordinatorConfig.builder().tokens("only-client", null).build());
    }
}
