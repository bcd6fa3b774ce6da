package io.cohort.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohort.client.ClientConfig;
import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import io.cohort.client.RemoteCallable;
import io.cohort.common.ChannelSecurity;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator commands against a cluster of real daemons: a coordinator JVM with client, worker
 * and admin tokens and JSON logs, and two worker JVMs, on loopback with an ephemeral port.
 */
class LiveClusterIT {
    private static final long WAIT_MS = 60_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final List<Process> started = new ArrayList<>();

    /** A daemon JVM and its output lines, read as they come. */
    private record Daemon(Process process, List<String> out, List<String> err) {
        String await(List<String> lines, Predicate<String> wanted, String what) throws InterruptedException {
            long deadline = System.currentTimeMillis() + WAIT_MS;
            while (System.currentTimeMillis() < deadline) {
                for (String line : lines) {
                    if (wanted.test(line)) {
                        return line;
                    }
                }
                if (!process.isAlive() && lines == err) {
                    break;
                }
                Thread.sleep(20);   // polling output with a bounded deadline
            }
            throw new AssertionError("no " + what + " within " + WAIT_MS + " ms; out " + out + ", err " + err);
        }
    }

    private Daemon start(Map<String, String> env, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx128m",
                "-cp", System.getProperty("java.class.path"), CohortCli.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().keySet().removeIf(k -> k.startsWith("COHORT_"));
        pb.environment().putAll(env);
        Process p = pb.start();
        started.add(p);
        Daemon d = new Daemon(p, new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>());
        drain(p.getInputStream(), d.out());
        drain(p.getErrorStream(), d.err());
        return d;
    }

    private static void drain(InputStream in, List<String> into) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    into.add(line);
                }
            } catch (IOException ended) {
                // the process is gone
            }
        }, "daemon-output");
        t.setDaemon(true);
        t.start();
    }

    @AfterEach
    void stopDaemons() throws InterruptedException {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Path token(String name, String value) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, value);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return f;
    }



    private static JsonNode worker(JsonNode status, String id) {
        for (JsonNode w : status.get("workers")) {
            if (w.get("id").asText().equals(id)) {
                return w;
            }
        }
        throw new AssertionError("no worker " + id + " in " + status);
    }

    @Test
    void statusDrainHealthAndLogsOnRealDaemons() throws Exception {
        Path client = token("client.token", "client-secret-1");
        Path workerToken = token("worker.token", "worker-secret-2");
        Path admin = token("admin.token", "admin-secret-3");
        Daemon coordinator = start(Map.of("COHORT_LOG_FORMAT", "json"), "coordinator", "--port", "0",
                "--client-token-file", client.toString(), "--worker-token-file", workerToken.toString(),
                "--admin-token-file", admin.toString());
        String listening = coordinator.await(coordinator.out(), l -> l.contains("listening on"), "listening line");
        String target = listening.substring(listening.lastIndexOf(' ') + 1);
        // The worker token comes from the environment, the rest from flags.
        Map<String, String> workerEnv = Map.of("COHORT_TOKEN_FILE", workerToken.toString());
        Daemon a = start(workerEnv, "worker", "--coordinator", target, "--id", "w-a", "--slots", "2",
                "--labels", "zone=a", "--resources", "gpu=1");
        Daemon b = start(workerEnv, "worker", "--coordinator", target, "--id", "w-b", "--slots", "2");
        a.await(a.out(), l -> l.contains("cohort worker w-a attached"), "w-a attached");
        b.await(b.out(), l -> l.contains("cohort worker w-b attached"), "w-b attached");

        try (CohortExecutor ex = Cohort.connect(ClientConfig.builder().target(target).authToken("client-secret-1").build())) {
            List<Long> doubled = ex.map((Long x) -> x * 2, LongStream.range(0, 40).boxed().toList()).toList();
            assertEquals(LongStream.range(0, 40).map(x -> x * 2).boxed().toList(), doubled);
            RemoteCallable<String> fails = () -> {
                throw new IllegalStateException("boom");
            };
            assertThrows(ExecutionException.class, () -> ex.submit(fails).get(60, TimeUnit.SECONDS));
        }

        Map<String, String> asClient = Map.of("COHORT_ADDRESS", target, "COHORT_TOKEN_FILE", client.toString());
        CliRun json = CliRun.of(asClient, "status", "--json");
        assertEquals(0, json.exit(), json.err());
        JsonNode status = JSON.readTree(json.out());
        assertEquals(2, status.get("workers").size(), json.out());
        JsonNode wa = worker(status, "w-a");
        assertEquals("ACTIVE", wa.get("state").asText());
        assertEquals(a.process().pid(), wa.get("pid").asLong());
        assertEquals(2, wa.get("slots").asInt());
        assertEquals(0, wa.get("busy").asInt());
        assertEquals(1.0, wa.get("resources").get("gpu").asDouble());
        assertEquals("zone=a", wa.get("labels").get(0).asText());
        assertTrue(wa.get("heartbeat_age_ms").asLong() < 30_000, wa.toString());
        assertTrue(!wa.get("host").asText().isEmpty());
        assertEquals(b.process().pid(), worker(status, "w-b").get("pid").asLong());
        assertEquals(0, status.get("queued").asLong());
        assertEquals(0, status.get("running").asLong());
        assertTrue(status.get("completed").asLong() >= 2, "map chunks and the failed task: " + json.out());
        assertEquals(1, status.get("failed").asLong());
        assertEquals(0, status.get("retried").asLong());
        assertTrue(status.get("tasks_per_second").asDouble() > 0, json.out());

        CliRun text = CliRun.of(asClient, "status");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().startsWith("coordinator " + target + ": 2 workers, 0 queued, 0 running"), text.out());
        assertTrue(text.out().lines().anyMatch(l -> l.matches("w-a\\s+ACTIVE\\s+.*\\s" + a.process().pid()
                + "\\s+2\\s+0\\s+.*cpu=2,gpu=1\\s+zone=a")), text.out());

        CliRun refused = CliRun.of(asClient, "drain", "w-a");
        assertEquals(ExitCodes.PERMISSION_DENIED, refused.exit());
        assertTrue(refused.err().contains("PERMISSION_DENIED") && refused.err().contains("admin token"), refused.err());
        Map<String, String> asAdmin = new HashMap<>(asClient);
        asAdmin.put("COHORT_TOKEN_FILE", admin.toString());
        assertEquals(ExitCodes.NOT_FOUND, CliRun.of(asAdmin, "drain", "w-nobody").exit());
        CliRun drained = CliRun.of(asAdmin, "drain", "w-a");
        assertEquals(0, drained.exit(), drained.err());
        assertEquals("DRAINING", worker(JSON.readTree(CliRun.of(asAdmin, "status", "--json").out()), "w-a")
                .get("state").asText());
        coordinator.await(coordinator.err(), l -> l.contains("\"worker w-a draining: an admin asked\""), "admin drain log");

        // A worker stopped with SIGTERM drains and exits 0: logged as drained, not lost.
        b.process().destroy();
        assertTrue(b.process().waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, b.process().exitValue());
        String line = coordinator.await(coordinator.err(), l -> l.contains("worker w-b drained"), "drained log line");
        JsonNode logged = JSON.readTree(line);
        assertEquals("w-b", logged.get("worker").asText());
        assertEquals("INFO", logged.get("level").asText());
        assertEquals("Scheduler", logged.get("component").asText());
        assertTrue(coordinator.err().stream().noneMatch(l -> l.contains("w-b lost")), coordinator.err().toString());

        // Health: no token, SERVING; NOT_SERVING once the coordinator is told to stop.
        ManagedChannel probe = ChannelSecurity.PLAINTEXT.channelBuilder(target).build();
        try {
            BlockingQueue<HealthCheckResponse.ServingStatus> seen = new LinkedBlockingQueue<>();
            HealthGrpc.newStub(probe).watch(HealthCheckRequest.getDefaultInstance(), new StreamObserver<>() {
                @Override public void onNext(HealthCheckResponse r) { seen.add(r.getStatus()); }
                @Override public void onError(Throwable t) { }
                @Override public void onCompleted() { }
            });
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, seen.poll(WAIT_MS, TimeUnit.MILLISECONDS));
            coordinator.process().destroy();
            assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING, seen.poll(WAIT_MS, TimeUnit.MILLISECONDS));
        } finally {
            probe.shutdownNow();
        }
        assertTrue(coordinator.process().waitFor(60, TimeUnit.SECONDS));
        for (String l : coordinator.err()) {
            JsonNode n = JSON.readTree(l);   // every line of the log is one JSON object
            assertTrue(n.hasNonNull("time") && n.hasNonNull("level") && n.hasNonNull("component")
                    && n.hasNonNull("message"), l);
        }
    }
}
