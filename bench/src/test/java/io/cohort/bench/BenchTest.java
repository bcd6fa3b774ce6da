package io.cohort.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Runs the harness in-process on a real cluster and checks that it reported; never its speed. */
class BenchTest {
    @Test
    @Timeout(300)   // shared machines: a quick run slows several-fold while others build
    void quickRunWritesTheFiguresOfTheChosenWorkloads(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        int exit = new CommandLine(new Bench()).execute("--quick", "--only", "W1,W5,S1,S3", "--warm-seconds", "0",
                "--output", json.toString());
        assertEquals(0, exit);

        JsonNode root = new ObjectMapper().readTree(json.toFile());
        JsonNode machine = root.get("machine");
        assertTrue(machine.get("cores").asInt() > 0);
        assertTrue(machine.get("memory_bytes").asLong() > 0);
        assertFalse(machine.get("jdk").asText().isBlank());
        assertFalse(machine.get("date").asText().isBlank());
        assertTrue(root.get("quick").asBoolean());

        assertFigure(root.get("W1"), "tasks_per_s");
        assertFigure(root.get("W5"), "mb_per_s");
        assertTrue(root.get("S1").get("bytes_per_task").asDouble() > 0);
        assertTrue(root.get("S1").get("client_map").get("heap_max_bytes").asLong() > 0);
        assertTrue(root.get("S3").get("events_per_s").asDouble() > 0);
        JsonNode codec = root.get("S3").get("codec");
        for (String name : List.of("jdk", "fory")) {
            assertTrue(codec.get("us_per_round_trip").get(name).get("lambda_and_long").asDouble() > 0, name);
            assertTrue(codec.get("handles").get(name).get("lambda").asBoolean(), name);
        }
        for (String absent : List.of("W2", "W3", "W4", "W6", "W7", "L0", "S2")) {
            assertFalse(root.has(absent), absent);
        }
        assertFalse(root.get("W1").has("warm"), "--warm-seconds 0 skips the warm figures");
        assertFalse(root.get("W1").has("vs_l0"), "no L0 in this run, so no ratio to it");
    }

    /** L0 (the bare relay, its results checked) and the warm phase, with the ratios and context switches they add. */
    @Test
    @Timeout(300)
    void quickL0AndWarmFiguresAreReportedBesideTheColdOnes(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        int exit = new CommandLine(new Bench()).execute("--quick", "--only", "L0,W1,W3", "--warm-seconds", "1",
                "--output", json.toString());
        assertEquals(0, exit);

        JsonNode root = new ObjectMapper().readTree(json.toFile());
        JsonNode l0 = root.get("L0");
        for (String figure : List.of("w1_tasks_per_s", "w1_cpu_us_per_task", "w3_p50_us", "w3_p99_us", "w5_mb_per_s")) {
            assertTrue(l0.get(figure).asDouble() > 0, figure + " in " + l0);
            assertTrue(l0.get("min").get(figure).asDouble() > 0, figure);
        }
        assertEquals(1, l0.get("runs").asInt());
        assertSwitches(l0, "relay");

        JsonNode w1 = root.get("W1");
        JsonNode w3 = root.get("W3");
        for (String figure : List.of("tasks_per_s", "cpu_us_per_task")) {
            assertTrue(w1.get("warm").get(figure).asDouble() > 0, figure + " in " + w1.get("warm"));
            assertTrue(w1.get("vs_l0").get(figure).asDouble() > 0, figure);
            assertTrue(w1.get("warm").get("vs_l0").get(figure).asDouble() > 0, figure);
        }
        for (String figure : List.of("p50_us", "p99_us")) {
            assertTrue(w3.get("warm").get(figure).asDouble() > 0, figure + " in " + w3.get("warm"));
            assertTrue(w3.get("vs_l0").get(figure).asDouble() > 0, figure);
            assertTrue(w3.get("warm").get("vs_l0").get(figure).asDouble() > 0, figure);
        }
        for (JsonNode warm : List.of(w1.get("warm"), w3.get("warm"))) {
            assertEquals(1, warm.get("runs").asInt());
            assertTrue(warm.get("warm_seconds").asDouble() >= 1, warm.toString());
            assertTrue(warm.get("warm_iterations").asInt() >= 1, warm.toString());
        }
        assertSwitches(w3, "coordinator");
        assertSwitches(w3.get("warm"), "coordinator");
    }

    /** Context switches per round trip in the client, the relay or coordinator ({@code hub}) and each worker. */
    private static void assertSwitches(JsonNode w, String hub) {
        JsonNode n = w.get("ctx_switches_per_round_trip");
        assertTrue(n != null, "ctx_switches_per_round_trip in " + w);
        // a round trip blocks the client and wakes the hub at least once; a worker may get none of them
        assertTrue(n.get("client").asDouble() > 0, n.toString());
        assertTrue(n.get(hub).asDouble() > 0, n.toString());
        for (String worker : List.of("worker-1", "worker-2")) {
            assertTrue(n.get(worker).asDouble() >= 0, n.toString());
        }
    }

    /** The two that quick runs skip unless named: S2 (simulated workers) and W6 (a task halts its worker JVM). */
    @Test
    @Timeout(300)
    void quickS2AndW6RunAndReportWhatHappened(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        int exit = new CommandLine(new Bench()).execute("--quick", "--only", "S2,W6", "--output", json.toString());
        assertEquals(0, exit);

        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertTrue(root.get("S2").get("tasks_per_s").asDouble() > 0);   // W1's load, every result checked
        JsonNode w6 = root.get("W6");
        assertTrue(w6.get("detection_ms").asDouble() > 0);
        assertEquals("WorkerLostException", w6.get("bad_task_error").asText());
        assertEquals(0, w6.get("others_failed").asInt(), "the other tasks all complete");
        assertEquals(w6.get("others").asInt(), w6.get("others_succeeded").asInt());
    }

    private static void assertFigure(JsonNode w, String figure) {
        assertEquals(1, w.get("runs").asInt());
        for (JsonNode node : List.of(w, w.get("min"), w.get("max"), w.get("baseline"),
                w.get("baseline").get("min"), w.get("baseline").get("max"))) {
            assertTrue(node.get(figure).asDouble() > 0, figure + " in " + node);
        }
        assertTrue(w.get("min").get(figure).asDouble() <= w.get(figure).asDouble());
        assertTrue(w.get(figure).asDouble() <= w.get("max").get(figure).asDouble());
        assertEquals(w.get(figure).asDouble(), w.get("each_run").get(figure).get(0).asDouble());   // one run: it is the median
    }

    @Test
    @Timeout(300)
    void profileWritesEachProcesssStacksAndASummary(@TempDir Path dir) throws Exception {
        Path profile = dir.resolve("prof");
        int exit = new CommandLine(new Bench()).execute("--quick", "--only", "W1", "--warm-seconds", "0", "--profile", profile.toString(),
                "--output", dir.resolve("bench.json").toString());
        assertEquals(0, exit);

        int withCohortFrames = 0;
        StringBuilder heads = new StringBuilder();
        for (String process : List.of("CoordinatorMain-0", "WorkerMain-1", "WorkerMain-2", ClusterProfiler.CLIENT)) {
            Path collapsed = profile.resolve("W1").resolve(process + ".collapsed");
            assertTrue(Files.isRegularFile(collapsed), collapsed.toString());
            ProfileSummary p = ProfileSummary.read(collapsed);
            assertTrue(p.total() > 0, "no samples in " + collapsed);
            withCohortFrames += p.topCohort(1).isEmpty() ? 0 : 1;
            heads.append(collapsed).append(":\n").append(head(collapsed)).append('\n');
        }
        // A quick run is a short window on cold JVMs: one of them may be all JIT, but not most.
        int found = withCohortFrames;
        assertTrue(found >= 3, () -> "io/cohort frames in only " + found + " of 4 profiles:\n" + heads);
        String summary = Files.readString(profile.resolve("W1").resolve("summary.txt"));
        for (String part : List.of("CoordinatorMain-0: ", "WorkerMain-1: ", "WorkerMain-2: ", "client: ",
                " java ", " jit-c2 ", " jit-c1 ", " gc ", " other-vm ", "us per task")) {
            assertTrue(summary.contains(part), part + " in " + summary);
        }
    }

    /** The first lines of a file, to see what a failing profile held. */
    private static String head(Path file) {
        try (var lines = Files.lines(file)) {
            return String.join("\n", lines.limit(20).toList());
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    @Test
    void thePeersScriptIsFoundFromInsideTheRepository() throws Exception {
        Path script = Peers.findScript();   // surefire runs in bench/: found by walking up
        assertTrue(Files.isRegularFile(script), script.toString());
        assertTrue(script.endsWith(Path.of(Peers.SCRIPT)), script.toString());
    }

    @Test
    void anUnknownWorkloadIsRefusedWithExitCode2(@TempDir Path dir) {
        Path json = dir.resolve("bench.json");
        int exit = new CommandLine(new Bench()).execute("--only", "W1,W9", "--output", json.toString());
        assertEquals(2, exit);
        assertFalse(Files.exists(json));
    }
}
