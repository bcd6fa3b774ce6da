package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The console bar as a user sees it: a real JVM running {@link ProgressBarDemo} with its
 * standard output on a pseudo-terminal (util-linux {@code script}) and on a plain pipe, on this
 * JDK and on a JDK 22 or later when one is installed (where {@code System.console()} exists
 * even for a pipe).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProgressBarTerminalTest {
    private static List<Path> jdks() {
        List<Path> homes = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"))));
        AotCacheTest.newerJdk().ifPresent(homes::add);
        return homes;
    }

    private static List<String> demo(Path home) {
        return List.of(home.resolve("bin").resolve("java").toString(), "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), ProgressBarDemo.class.getName());
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();   // ends when the process closes its output
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the demo ended");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), text);
        return text;
    }

    @Test
    void onAPseudoTerminalTheBarIsRedrawnInPlaceThenTheLineEnds() throws Exception {
        for (Path home : jdks()) {
            // script gives the command a pty for stdin, stdout and stderr; its own stdout is our pipe
            String text = run(List.of("script", "-qfec", String.join(" ", demo(home)), "/dev/null"));
            assertTrue(text.indexOf("\r[") >= 0 && text.indexOf("\r[") < text.lastIndexOf("\r["),
                    home + ": drawn at least twice, in place: " + text);
            String last = text.substring(text.lastIndexOf("\r["));
            assertTrue(last.contains("100% 20/20 done"), home + ": " + text);
            assertTrue(last.contains("\nafter"), home + ": the bar's line ends before the program goes on: " + text);
            assertFalse(text.substring(0, text.lastIndexOf("\r[")).contains("\n"),
                    home + ": nothing but redraws before the last line: " + text);
        }
    }

    @Test
    void inAPipeItWritesPlainLines() throws Exception {
        for (Path home : jdks()) {
            String text = run(demo(home));
            assertFalse(text.contains("\r"), home + ": no redraws in a pipe: " + text);
            List<String> lines = text.lines().toList();
            assertEquals("after", lines.get(lines.size() - 1), home + ": " + text);
            assertTrue(lines.size() >= 3, home + ": a first line and a last one: " + text);
            assertTrue(lines.get(0).startsWith("[") && lines.get(0).contains("/20 done"), home + ": " + text);
            assertTrue(lines.get(lines.size() - 2).contains("100% 20/20 done"), home + ": " + text);
        }
    }
}
