package io.cohort.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/systemd's units pass {@code systemd-analyze verify} (pointed at the built release, so their
 * ExecStart must exist), keep the journal in the StateDirectory, run as a dynamic user, restart on
 * failure, take their tokens as credentials from files the unit names, and give a worker longer to
 * stop than its drain.
 */
class SystemdUnitsTest {
    private static final Path UNITS = Release.DEPLOY.resolve("systemd");
    private static final Path ANALYZE = Path.of("/usr/bin/systemd-analyze");

    @TempDir
    Path tmp;

    @Test
    void unitsPassSystemdAnalyzeVerifyAgainstTheRelease() throws Exception {
        assumeTrue(Files.isExecutable(ANALYZE), "systemd-analyze is not installed");
        List<String> command = new ArrayList<>(List.of(ANALYZE.toString(), "verify"));
        for (String unit : List.of("cohort-coordinator.service", "cohort-worker.service")) {
            Path copy = tmp.resolve(unit);
            Files.writeString(copy, Files.readString(UNITS.resolve(unit)).replace("/opt/cohort/", Release.tree() + "/"));
            command.add(copy.toString());
        }
        Run verify = Run.of(Duration.ofMinutes(1), command.toArray(String[]::new));
        assertEquals(0, verify.exit(), verify.out());
        // verify only warns about unknown keys and bad values, with status 0: none may appear.
        assertEquals("", verify.out().strip());
    }

    @Test
    void coordinatorKeepsItsJournalInTheStateDirectoryAsADynamicUser() throws IOException {
        Map<String, List<String>> unit = read("cohort-coordinator.service");
        commonToBoth(unit);
        String exec = String.join(" ", unit.get("ExecStart"));
        assertTrue(exec.contains("--state-dir ${STATE_DIRECTORY}"), exec);
        for (String token : List.of("client", "worker", "admin")) {
            assertCredential(unit, exec, "--" + token + "-token-file", token + ".token");
        }
        assertCredential(unit, exec, "--tls-key", "tls-key.pem");
    }

    @Test
    void workerOutlastsItsDrainWhenStopped() throws IOException {
        Map<String, List<String>> unit = read("cohort-worker.service");
        commonToBoth(unit);
        String exec = String.join(" ", unit.get("ExecStart"));
        assertCredential(unit, exec, "--token-file", "worker.token");
        assertCredential(unit, exec, "--tls-ca", "ca.pem");
        assertTrue(exec.contains("--drain-timeout ${COHORT_DRAIN_TIMEOUT}"), exec);
        String drain = unit.get("Environment").stream().flatMap(e -> List.of(e.split(" ")).stream())
                .filter(e -> e.startsWith("COHORT_DRAIN_TIMEOUT=")).findFirst().orElseThrow().split("=")[1];
        long stop = Long.parseLong(unit.get("TimeoutStopSec").get(0));
        assertTrue(stop > Duration.parse("PT" + drain.toUpperCase()).toSeconds(), "TimeoutStopSec " + stop + " vs drain " + drain);
        assertEquals(List.of("mixed"), unit.get("KillMode"), "SIGTERM to the daemon alone: it stops its child JVMs");
    }

    private static void commonToBoth(Map<String, List<String>> unit) {
        assertEquals(List.of("yes"), unit.get("DynamicUser"));
        assertEquals(List.of("on-failure"), unit.get("Restart"));
        assertEquals(1, unit.get("StateDirectory").size());
        assertEquals(List.of("0700"), unit.get("StateDirectoryMode"));
    }

    /** FLAG's value is %d/NAME, a credential the unit loads from a file under /etc/cohort. */
    private static void assertCredential(Map<String, List<String>> unit, String exec, String flag, String name) {
        assertTrue(exec.contains(flag + " %d/" + name), flag + " in " + exec);
        assertTrue(unit.get("LoadCredential").contains(name + ":/etc/cohort/" + name), name + " in " + unit.get("LoadCredential"));
    }

    /** The unit's keys and their values (a key given twice has two), continuation lines joined. */
    private static Map<String, List<String>> read(String unit) throws IOException {
        String text = Files.readString(UNITS.resolve(unit)).replace("\\\n", " ");
        Map<String, List<String>> keys = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (line.isBlank() || line.startsWith("#") || line.startsWith("[") || eq < 0) {
                continue;
            }
            keys.computeIfAbsent(line.substring(0, eq).trim(), k -> new ArrayList<>())
                    .add(line.substring(eq + 1).trim().replaceAll(" +", " "));
        }
        return keys;
    }
}
