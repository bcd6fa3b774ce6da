package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An application that depends on cohort-client alone: its class path is the client's jar and
 * the jars Maven resolves for it at run time (target/runtime-closure), plus the application.
 * Cohort.local runs there (an embedded coordinator without a journal needs no RocksDB), and
 * none of the daemons' or the bench's jars are on it.
 */
@Timeout(120)
class LeanClasspathIT {
    @Test
    void cohortLocalRunsOnTheClientsRuntimeClosureAlone() throws Exception {
        Path closure = Path.of(System.getProperty("cohort.client.closure"));
        List<String> jars;
        try (Stream<Path> files = Files.list(closure)) {
            jars = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        for (String banned : List.of("rocksdbjni", "picocli", "fory", "cohort-cli", "cohort-journal")) {
            assertTrue(jars.stream().noneMatch(j -> j.startsWith(banned)), banned + " in " + jars);
        }
        Path application = Path.of(LeanLocalMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String classPath = String.join(File.pathSeparator, System.getProperty("cohort.client.jar"),
                closure.resolve("*").toString(), application.toString());
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath, LeanLocalMain.class.getName()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("answer 42"), out);
    }
}
