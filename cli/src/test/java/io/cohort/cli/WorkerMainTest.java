package io.cohort.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.worker.WorkerConfig;
import io.grpc.Status;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@Timeout(30)
class WorkerMainTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private CommandLine command(WorkerMain main) {
        return new CommandLine(main).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
    }

    private int run(String... args) {
        return command(new WorkerMain()).execute(args);
    }

    @Test
    void badFlagsAreUsageErrorsWithAClearMessage() {
        assertEquals(2, run());
        assertTrue(err.toString().contains("--coordinator"), err.toString());
        assertEquals(2, run("--coordinator", "h:1", "--slots", "0"));
        assertTrue(err.toString().contains("slots must be at least 1"), err.toString());
        assertEquals(2, run("--coordinator", "h:99999"));
        assertEquals(2, run("--coordinator", "h:1", "--drain-timeout", "soon"));
        assertTrue(err.toString().contains("is not a duration"), err.toString());
        assertEquals(2, run("--coordinator", "h:1", "--resources", "gpu=lots"));
        assertEquals(2, run("--coordinator", "h:1", "--classpath", "/no/such/dir"));
        assertTrue(err.toString().contains("/no/such/dir"), err.toString());
        assertEquals(2, run("--coordinator", "h:1", "--parent-pid", "-5"));
        assertEquals(2, run("--coordinator", "h:1", "--frobnicate"));
        assertEquals(2, run("--coordinator", "h:1", "--deserialization-filter", "maxdepth=deep;*"));
        assertTrue(err.toString().contains("not a valid ObjectInputFilter pattern"), err.toString());
    }

    @Test
    void flagsBecomeTheConfiguration(@TempDir Path dir) {
        WorkerMain main = new WorkerMain();
        command(main).parseArgs("--coordinator", "coord.example:7171", "--id", "w-7", "--slots", "3",
                "--prefetch", "9", "--resources", "gpu=1,memoryMb=4096", "--labels", "zone=a,gpu",
                "--classpath", dir.toString(), "--drain-timeout", "2m",
                "--deserialization-filter", "com.example.**;java.base/*;!*");
        WorkerConfig c = main.config();
        assertEquals("coord.example:7171", c.coordinator());
        assertEquals("w-7", c.workerId());
        assertEquals(3, c.slots());
        assertEquals(9, c.prefetch());
        assertEquals(9, c.maxPrefetch(), "a prefetch set by hand stays fixed");
        assertEquals(Map.of("gpu", 1.0, "memoryMb", 4096.0), c.resources());
        assertEquals(Set.of("zone=a", "gpu"), c.labels());
        assertEquals(Duration.ofMinutes(2), c.drainTimeout());
        assertTrue(c.classLoader() instanceof java.net.URLClassLoader);
        assertEquals(io.cohort.worker.WorkerProcess.class.getClassLoader(), c.classLoader().getParent());
        assertEquals("com.example.**;java.base/*;!*", c.deserializationFilter().pattern());

        WorkerMain defaults = new WorkerMain();
        command(defaults).parseArgs("--coordinator", "coord.example");
        WorkerConfig d = defaults.config();
        assertEquals("coord.example:7070", d.coordinator());
        assertEquals(Runtime.getRuntime().availableProcessors(), d.slots());
        assertEquals(d.slots(), d.prefetch());
        assertEquals(WorkerConfig.SHORT_TASKS_PER_SLOT * d.slots(), d.maxPrefetch(), "adaptive by default");

        WorkerMain both = new WorkerMain();
        command(both).parseArgs("--coordinator", "coord.example", "--slots", "2", "--prefetch", "1", "--max-prefetch", "50");
        assertEquals(1, both.config().prefetch());
        assertEquals(50, both.config().maxPrefetch());
        assertEquals(Duration.ofSeconds(30), d.drainTimeout());
        assertEquals(null, d.deserializationFilter().pattern(), "the built-in refusals alone");
    }
}
