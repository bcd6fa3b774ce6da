package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cohort.coordinator.TestCertificates;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real cluster across network namespaces (deploy/netns-testbed.sh): coordinator, two workers
 * and the client each on a "host" of their own, over TLS with tokens. One worker's link is cut
 * mid-job; its tasks complete on the other and the job finishes. Needs root: skipped otherwise.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class MultiHostTest {
    private static final Path SCRIPT = Path.of("..", "deploy", "netns-testbed.sh").toAbsolutePath().normalize();
    private static final String COORDINATOR = "10.77.0.1";

    private final String prefix = "cohort-t" + ProcessHandle.current().pid();
    private final List<Process> started = new ArrayList<>();
    private boolean bedUp;

    @TempDir
    Path dir;

    @AfterEach
    void tearDown() throws Exception {
        started.forEach(Process::destroyForcibly);
        for (Process p : started) {
            p.waitFor(10, TimeUnit.SECONDS);
        }
        if (bedUp) {
            assertEquals(0, bed("down").waitFor(), "the test bed was removed");
        }
    }

    @Test
    void aWorkerCutOffMidJobLosesItsTasksToTheOtherAndTheJobFinishes() throws Exception {
        assumeTrue(isRoot(), "skipped: the multi-host test bed needs root (network namespaces); CI runs it as root");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/ip")) || Files.isExecutable(Path.of("/sbin/ip")),
                "skipped: iproute2's ip command is not installed");
        Process up = bed("up");
        String upOutput = new String(up.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, up.waitFor(), "test bed up: " + upOutput);
        bedUp = true;

        TestCertificates certs = TestCertificates.create(dir, COORDINATOR);
        Path clientToken = Files.writeString(dir.resolve("client.token"), "client-token-for-the-bed");
        java.nio.file.Files.setPosixFilePermissions(clientToken, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path workerToken = Files.writeString(dir.resolve("worker.token"), "worker-token-for-the-bed");
        java.nio.file.Files.setPosixFilePermissions(workerToken, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Lines coordinator = new Lines(java("coord", "io.cohort.cli.CoordinatorMain", "--host", COORDINATOR,
                "--port", "7070", "--heartbeat-timeout", "5s", "--tls-cert", certs.serverCert().toString(),
                "--tls-key", certs.serverKey().toString(), "--client-token-file", clientToken.toString(),
                "--worker-token-file", workerToken.toString(), "--journal-dir", dir.resolve("journal").toString()));
        assertNotNull(coordinator.await("cohort coordinator listening on " + COORDINATOR + ":7070"));
        String target = COORDINATOR + ":7070";
        for (String w : List.of("w1", "w2")) {
            Lines worker = new Lines(java(w, "io.cohort.cli.WorkerMain", "--coordinator", target, "--id", w,
                    "--slots", "1", "--tls-ca", certs.caCert().toString(), "--token-file", workerToken.toString()));
            assertNotNull(worker.await("cohort worker " + w + " attached"));
        }
        Lines job = new Lines(java("client", MultiHostJob.class.getName(), target, certs.caCert().toString(),
                clientToken.toString(), "60"));
        assertNotNull(job.await("CUT-NOW"));
        assertEquals(0, bed("cut", "w1").waitFor(), "cut w1's link");
        String result = job.await("RESULT");
        assertNotNull(result, "the job finished");
        assertTrue(job.process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, job.process.exitValue(), result);
        assertTrue(result.contains("ok=60"), result);
        assertTrue(result.contains("w1=LOST"), result);
        assertTrue(result.contains("w2=ACTIVE"), result);
    }

    private Process bed(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(SCRIPT.toString()));
        command.addAll(List.of(args));
        ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true);
        b.environment().put("COHORT_NETNS_PREFIX", prefix);
        return b.start();
    }

    /** A JVM on one of the bed's hosts, with this test's class path. */
    private Process java(String host, String mainClass, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(SCRIPT.toString(), "exec", host,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true);
        b.environment().put("COHORT_NETNS_PREFIX", prefix);
        Process p = b.start();
        started.add(p);
        return p;
    }

    private static boolean isRoot() {
        try {
            Process id = new ProcessBuilder("id", "-u").start();
            return new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().equals("0");
        } catch (IOException e) {
            return false;
        }
    }

    /** A process's output lines, echoed to ours, and waited for by prefix. */
    private static final class Lines {
        final Process process;
        private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final CompletableFuture<Void> ended = new CompletableFuture<>();

        Lines(Process process) {
            this.process = process;
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line = r.readLine(); line != null; line = r.readLine()) {
                        System.out.println("[pid " + process.pid() + "] " + line);
                        lines.add(line);
                    }
                } catch (IOException ignored) {
                    // the process is gone
                }
                ended.complete(null);
            }, "multihost-output");
            reader.setDaemon(true);
            reader.start();
        }

        /** The first line starting with {@code prefix} within 90 s, or null. */
        String await(String prefix) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (System.nanoTime() < deadline) {
                String line = lines.poll(100, TimeUnit.MILLISECONDS);
                if (line != null && line.startsWith(prefix)) {
                    return line;
                }
                if (line == null && ended.isDone() && lines.isEmpty()) {
                    return null;
                }
            }
            return null;
        }
    }
}
