package io.cohort.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.StatusRequest;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CoordinatorMainTest {
    @Test
    void badArgumentsAreUsageErrors() {
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new CoordinatorMain()).setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("--heartbeat-timeout", "soon"));
        assertTrue(err.toString().contains("not a duration"), err.toString());
        assertEquals(2, new CommandLine(new CoordinatorMain()).setErr(new PrintWriter(new StringWriter()))
                .execute("--port", "x"));
        assertEquals(2, new CommandLine(new CoordinatorMain()).execute("--port", "0", "--shared-max-object-bytes", "0"),
                "a shared-object limit below 1 is a usage error");
        assertEquals(2, new CommandLine(new CoordinatorMain()).execute("--port", "0",
                "--max-idle-functions-per-client", "5"), "a message's definitions could be dropped before its tasks");
        assertEquals(2, new CommandLine(new CoordinatorMain()).execute("--port", "0",
                "--max-waiting-payload-fetches", "0"));
    }

    @Test
    void refusesAnyAddressWithoutInsecure() throws Exception {
        assertEquals(1, new CommandLine(new CoordinatorMain()).execute("--host", "0.0.0.0", "--port", "0"));
    }

    /** The real command in its own JVM: prints where it listens, serves, exits 0 on SIGTERM. */
    @Test
    void runsUntilSigtermThenExitsZero() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                CoordinatorMain.class.getName(), "--port", "0", "--heartbeat-timeout", "5s"))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).get(30, TimeUnit.SECONDS);
            Matcher m = Pattern.compile("cohort coordinator listening on (127\\.0\\.0\\.1:(\\d+))").matcher(line);
            assertTrue(m.matches(), line);
            assertTrue(Integer.parseInt(m.group(2)) > 0);
            ManagedChannel channel = Grpc.newChannelBuilder(m.group(1), InsecureChannelCredentials.create()).build();
            try {
                assertEquals(0, AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .status(StatusRequest.getDefaultInstance()).getWorkersCount());
            } finally {
                channel.shutdownNow();
            }
            p.destroy();   // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "did not stop");
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }
}
