package io.cohort.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code bench/peers/peers.py} (Python's ProcessPoolExecutor(2) and multiprocessing.Pool(2)
 * on the same workloads) and returns its JSON. The script is found through the system property
 * {@code bench.peers}, else by walking up from the working directory, then from the jar this
 * class was loaded from; the interpreter through {@code bench.python}, else /usr/bin/python3,
 * else python3 on the PATH.
 */
final class Peers {
    static final String SCRIPT = "bench/peers/peers.py";
    /** The peers' names in their JSON, in the order the table shows them. */
    static final List<String> NAMES = List.of("process_pool", "mp_pool");
    private static final long TIMEOUT_MINUTES = 15;

    private Peers() {
    }

    static JsonNode run(List<String> ids, boolean quick) throws IOException, InterruptedException {
        Path script = findScript();
        List<String> cmd = new ArrayList<>(List.of(python(), script.toString(), "--only", String.join(",", ids)));
        if (quick) {
            cmd.add("--quick");
        }
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        } catch (IOException e) {
            throw new IOException("peers: cannot start " + cmd.get(0) + " (set -Dbench.python=PATH): " + e.getMessage(), e);
        }
        byte[] out;
        try (InputStream in = p.getInputStream()) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);   // the script ends its stdout when it exits
            out = buf.toByteArray();
        } finally {
            if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
            }
        }
        if (p.exitValue() != 0) {
            throw new IOException("peers: " + String.join(" ", cmd) + " exited with " + p.exitValue());
        }
        return new ObjectMapper().readTree(out);
    }

    static Path findScript() throws IOException {
        String given = System.getProperty("bench.peers");
        if (given != null) {
            Path p = Path.of(given);
            if (!Files.isRegularFile(p)) {
                throw new IOException("peers: -Dbench.peers=" + given + " is not a file");
            }
            return p;
        }
        List<Path> starts = new ArrayList<>();
        starts.add(Path.of("").toAbsolutePath());
        try {
            starts.add(Path.of(Peers.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
        } catch (Exception e) {
            // no code source (unusual class loader): the working directory alone is searched
        }
        for (Path start : starts) {
            int depth = 0;
            for (Path dir = start; dir != null && depth < 10; dir = dir.getParent(), depth++) {
                Path candidate = dir.resolve(SCRIPT);
                if (Files.isRegularFile(candidate)) {
                    return candidate;
                }
            }
        }
        throw new IOException("peers: " + SCRIPT + " not found above " + starts
                + "; run from the repository or pass -Dbench.peers=PATH");
    }

    private static String python() {
        String given = System.getProperty("bench.python");
        if (given != null) {
            return given;
        }
        return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }
}
