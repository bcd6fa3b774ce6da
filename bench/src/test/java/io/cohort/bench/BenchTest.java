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
        int exit = new CommandLine(new Bench()).execute("--quick", "--only", "W1,W5,S1,S3", "--output", json.toString());
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
        for (String absent : List.of("W2", "W3", "W4", "W6", "W7", "S2")) {
            assertFalse(root.has(absent), absent);
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
        int exit = new CommandLine(new Bench()).execute("--quick", "--only", "W1", "--profile", profile.toString(),
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
