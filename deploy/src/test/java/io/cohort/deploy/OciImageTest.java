package io.cohort.deploy;

import static io.cohort.deploy.Trees.list;
import static io.cohort.deploy.Trees.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OCI image the "image" profile builds (deploy/target/cohort-image.tar): its index, manifest and
 * config name the entrypoint, a non-root user and the port; its layers, unpacked in order, are a
 * root from which a coordinator and a worker start (under chroot in a mount namespace of their own,
 * as the image's user) and run a job.
 */
class OciImageTest {
    private static final Path IMAGE = Release.DEPLOY.resolve("target").resolve("cohort-image.tar");

    @TempDir
    Path tmp;

    @Test
    void configNamesEntrypointUserAndPortAndTheRootRunsAJob() throws Exception {
        assumeTrue(Files.exists(IMAGE), "no image: build it with ./mvnw -B -ntp -Pimage -pl deploy -am verify -DskipTests");
        Path oci = Files.createDirectories(tmp.resolve("oci"));
        Run.of(Duration.ofMinutes(2), "tar", "-xf", IMAGE.toString(), "-C", oci.toString()).ok();

        Map<String, Object> index = json(oci.resolve("index.json"));
        Map<String, Object> manifest = blob(oci, map(list(index.get("manifests")).get(0)));
        Map<String, Object> config = map(blob(oci, map(manifest.get("config"))).get("config"));
        assertEquals(List.of("/opt/java/bin/java", "-Dcohort.conf=/opt/cohort/conf/cohort.conf", "-cp", "/opt/cohort/lib/*",
                "io.cohort.cli.CohortCli"), config.get("Entrypoint"));
        assertEquals("65532:65532", config.get("User"));
        assertEquals(List.of("7070/tcp"), List.copyOf(map(config.get("ExposedPorts")).keySet()));

        Path root = Files.createDirectories(tmp.resolve("root"));
        for (Object layer : list(manifest.get("layers"))) {
            Path blob = digestPath(oci, map(layer));
            Run.of(Duration.ofMinutes(2), "tar", "-xzf", blob.toString(), "-C", root.toString()).ok();
        }
        assertTrue(Files.isExecutable(root.resolve("opt/java/bin/java")));
        assertTrue(Files.exists(root.resolve("opt/cohort/lib")));

        assumeTrue("root".equals(System.getProperty("user.name")), "running the image's root needs chroot, so root");
        runAJobFromTheRoot(root, list(config.get("Entrypoint")).stream().map(String::valueOf).toList());
    }

    private void runAJobFromTheRoot(Path root, List<String> entrypoint) throws Exception {
        Files.createDirectories(root.resolve("app"));
        Files.copy(ClusterScriptTest.appJar(tmp), root.resolve("app/app.jar"));
        List<Process> started = new ArrayList<>();
        try {
            Process coordinator = inImage(root, entrypoint, "coordinator", List.of("coordinator", "--port", "0",
                    "--journal-dir", "/var/lib/cohort/journal"));   // on: RocksDB's native library loads in the image
            started.add(coordinator);
            String line = await(tmp.resolve("coordinator.log"), "cohort coordinator listening on ", coordinator);
            String target = line.substring(line.indexOf(" on ") + 4).trim();
            assertTrue(Files.isDirectory(root.resolve("var/lib/cohort/journal")), "the journal is written in the image's root");
            Process worker = inImage(root, entrypoint, "worker", List.of("worker", "--coordinator", target,
                    "--slots", "2", "--classpath", "/app/app.jar"));
            started.add(worker);
            await(tmp.resolve("worker.log"), " attached to ", worker);
            try (CohortExecutor ex = Cohort.connect(target)) {
                List<Long> inputs = LongStream.rangeClosed(1, 20).boxed().toList();
                assertEquals(inputs.stream().map(x -> x * x).toList(), ex.map(new Square(), inputs).toList());
            }
        } finally {
            for (int i = started.size() - 1; i >= 0; i--) {
                Process p = started.get(i);
                p.destroy();   // unshare passes SIGTERM on to the daemon as it exits
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor();
                }
            }
        }
    }

    /** The image's entrypoint with ARGS, as its user, under chroot in a mount namespace with /dev and /proc. */
    private Process inImage(Path root, List<String> entrypoint, String name, List<String> args) throws IOException {
        List<String> command = new ArrayList<>(List.of("unshare", "--mount", "--fork", "--kill-child=TERM", "sh", "-c",
                "mount --rbind /dev \"$0/dev\" && mount -t proc proc \"$0/proc\" && exec chroot --userspec=65532:65532 \"$0\" \"$@\"",
                root.toString()));
        Files.createDirectories(root.resolve("dev"));
        Files.createDirectories(root.resolve("proc"));
        command.addAll(entrypoint);
        command.addAll(args);
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".log").toFile()).start();
    }

    private static String await(Path log, String text, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            String out = Files.exists(log) ? Files.readString(log) : "";
            for (String line : out.split("\n")) {
                if (line.contains(text)) {
                    return line;
                }
            }
            if (!p.isAlive()) {
                throw new AssertionError(log.getFileName() + " ended:\n" + out);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + text + "' in " + log + ":\n" + Files.readString(log));
    }

    private static Path digestPath(Path oci, Map<String, Object> descriptor) {
        String[] digest = ((String) descriptor.get("digest")).split(":");
        return oci.resolve("blobs").resolve(digest[0]).resolve(digest[1]);
    }

    private static Map<String, Object> blob(Path oci, Map<String, Object> descriptor) throws IOException {
        return json(digestPath(oci, descriptor));
    }

    /** JSON read with SnakeYAML (JSON is YAML's flow style), so the tests need one parser. */
    private static Map<String, Object> json(Path file) throws IOException {
        return map(Trees.parser().load(Files.readString(file)));
    }
}
