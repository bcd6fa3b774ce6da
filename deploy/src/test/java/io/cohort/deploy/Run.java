package io.cohort.deploy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A command run to its end (bounded), its output and error merged into one text. */
record Run(int exit, String out) {

    static Run of(Duration limit, Map<String, String> env, List<String> command) throws IOException, InterruptedException {
        Path log = Files.createTempFile("deploy-run", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor();
                throw new AssertionError(command + " still running after " + limit + ":\n" + Files.readString(log));
            }
            return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    static Run of(Duration limit, String... command) throws IOException, InterruptedException {
        return of(limit, Map.of(), List.of(command));
    }

    Run ok() {
        if (exit != 0) {
            throw new AssertionError("exit " + exit + ":\n" + out);
        }
        return this;
    }
}
