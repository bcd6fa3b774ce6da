package io.cohort.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cohort.client.ClientConfig;
import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import io.cohort.client.WorkerInfo;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/cluster against a real sshd the test starts on 127.0.0.2 and 127.0.0.3: up (the release
 * installed over scp, a coordinator with TLS and tokens on one host, a worker on the other), a job
 * run with the generated client token, status, then down, after which none of its processes runs.
 */
class ClusterScriptTest {
    private static final Path CLUSTER = Release.DEPLOY.resolve("cluster");
    private static final Duration LIMIT = Duration.ofMinutes(4);

    @TempDir
    Path tmp;

    @Test
    void upRunsAJobStatusSeesItAndDownLeavesNothingRunning() throws Exception {
        assumeTrue(Files.isExecutable(Sshd.SSHD), "needs Debian's openssh-server (.ci/run installs it)");
        Path hosts = tmp.resolve("hosts");
        Path state = tmp.resolve("state");
        Path remote = tmp.resolve("remote");
        List<Long> started = new ArrayList<>();
        try (Sshd sshd = Sshd.start(tmp.resolve("sshd"))) {
            Files.write(hosts, sshd.hosts());
            try {
                Run up = cluster("up", sshd, hosts, state, remote, "--port", "0", "--tls", "--slots", "2",
                        "--app", appJar(tmp).toString(), "--release", Release.tarball().toString());
                started.addAll(recordedPids(state));
                up.ok();
                assertEquals(2, started.size(), up.out());
                assertTrue(up.out().contains("installing"), up.out());
                assertTrue(up.out().contains("has " + Release.tarball().getFileName().toString().replace(".tar.gz", "")
                        + " already"), "the second host shares the first's directory here: " + up.out());

                for (String secret : List.of("client.token", "worker.token", "admin.token", "tls-key.pem")) {
                    assertEquals("rw-------", PosixFilePermissions.toString(
                            Files.getPosixFilePermissions(remote.resolve("secrets").resolve(secret))), secret);
                }
                runJob(state);

                Run status = cluster("status", sshd, hosts, state, remote).ok();
                assertTrue(status.out().contains("coordinator coordinator on " + sshd.hosts().get(0) + ": running"), status.out());
                assertTrue(status.out().contains("worker worker-127.0.0.3 on " + sshd.hosts().get(1) + ": running"), status.out());

                Run down = cluster("down", sshd, hosts, state, remote).ok();
                for (long pid : started) {
                    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false),
                            "pid " + pid + " still runs after down:\n" + down.out());
                }
                assertFalse(Files.exists(state.resolve("pids")), "down clears its record");
            } finally {
                // Only what this test started, by pid (and only while it still runs Cohort), whatever happened above.
                started.forEach(pid -> ProcessHandle.of(pid)
                        .filter(p -> p.info().commandLine().orElse("").contains("io.cohort.cli.CohortCli"))
                        .ifPresent(ProcessHandle::destroyForcibly));
            }
        }
    }

    @Test
    void refusesAPlaintextCoordinatorBeyondLoopback() throws Exception {
        Path hosts = Files.writeString(tmp.resolve("hosts"), "ops@10.20.30.40\nops@10.20.30.41:2222\n");
        Run up = Run.of(LIMIT, CLUSTER.toString(), "up", "--hosts", hosts.toString(), "--release", Release.tarball().toString());
        assertEquals(2, up.exit(), up.out());
        assertTrue(up.out().contains("10.20.30.40 is not loopback: pass --tls"), up.out());
    }

    private void runJob(Path state) throws Exception {
        ClientConfig config = ClientConfig.builder().target(Files.readString(state.resolve("coordinator")).trim())
                .trustCertificates(state.resolve("ca.pem"))
                .authToken(Files.readString(state.resolve("client.token")).trim()).build();
        try (CohortExecutor ex = Cohort.connect(config)) {
            List<WorkerInfo> workers = ex.clusterInfo().workers();
            assertEquals(1, workers.size(), "up returns once its worker attached: " + workers);
            assertEquals(2, workers.get(0).slots());
            List<Long> inputs = LongStream.rangeClosed(1, 50).boxed().toList();
            assertEquals(inputs.stream().map(x -> x * x).toList(), ex.map(new Square(), inputs).toList());
        }
    }

    private static Run cluster(String command, Sshd sshd, Path hosts, Path state, Path remote, String... more)
            throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of(CLUSTER.toString(), command, "--hosts", hosts.toString(),
                "--ssh-config", sshd.sshConfig.toString(), "--state", state.toString(), "--dir", remote.toString()));
        args.addAll(List.of(more));
        return Run.of(LIMIT, java.util.Map.of(), args);
    }

    private static List<Long> recordedPids(Path state) throws IOException {
        Path pids = state.resolve("pids");
        if (!Files.exists(pids)) {
            return List.of();
        }
        return Files.readAllLines(pids).stream().map(line -> Long.parseLong(line.split(" ")[2])).toList();
    }

    /** The task's class in a jar of its own, as an application would ship it. */
    static Path appJar(Path dir) throws IOException {
        Path jar = dir.resolve("app.jar");
        String entry = Square.class.getName().replace('.', '/') + ".class";
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             var in = Square.class.getClassLoader().getResourceAsStream(entry)) {
            out.putNextEntry(new JarEntry(entry));
            in.transferTo((OutputStream) out);
            out.closeEntry();
        }
        return jar;
    }
}
