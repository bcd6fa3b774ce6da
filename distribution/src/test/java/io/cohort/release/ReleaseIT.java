package io.cohort.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import io.cohort.common.Protocol;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release tarball as an operator meets it: unpacked into an empty directory, run with no
 * Maven and no source tree in reach, its daemons run a job and leave nothing in their
 * temporary directory or working directory.
 */
@Timeout(180)
class ReleaseIT {
    private static final String VERSION = System.getProperty("cohort.release.version");

    @TempDir
    static Path work;
    static Path release;

    @BeforeAll
    static void unpack() throws Exception {
        Path tarball = Path.of(System.getProperty("cohort.release.tarball"));
        Path install = Files.createDirectory(work.resolve("opt"));
        Process tar = new ProcessBuilder("tar", "-xzf", tarball.toString(), "-C", install.toString())
                .redirectErrorStream(true).start();
        assertTrue(tar.waitFor(60, TimeUnit.SECONDS), "tar did not finish");
        assertEquals(0, tar.exitValue(), new String(tar.getInputStream().readAllBytes()));
        release = install.resolve("cohort-" + VERSION);
    }

    private static Set<String> jars(String dir) throws IOException {
        try (Stream<Path> files = Files.list(release.resolve(dir))) {
            return files.map(p -> p.getFileName().toString()).collect(TreeSet::new, Set::add, Set::addAll);
        }
    }

    /** What the operator's shell holds: a JDK, a home, and (as JVM options) a private temporary directory. */
    private static Map<String, String> environment(Path home, Path tmp) {
        return Map.of("PATH", "/usr/bin:/bin", "HOME", home.toString(),
                "COHORT_JAVA", System.getProperty("java.home"),
                "COHORT_JAVA_OPTS", "-Djava.io.tmpdir=" + tmp);
    }

    private static List<Path> contents(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(p -> !p.equals(dir)).toList();
        }
    }

    @Test
    void theTarballHoldsTheLauncherPlainJarsTheConfigAndTheLicence() throws IOException {
        assertTrue(Files.isExecutable(release.resolve("bin/cohort")));
        assertTrue(Files.readString(release.resolve("LICENSE")).contains("Apache License"));
        assertTrue(Files.isRegularFile(release.resolve("README.md")));
        assertTrue(Files.readString(release.resolve("conf/cohort.conf")).contains("coordinator.state-dir"));
        Set<String> lib = jars("lib");
        Set<String> bench = jars("bench");
        for (String needed : List.of("cohort-cli-", "cohort-coordinator-", "cohort-worker-", "cohort-client-",
                "cohort-journal-rocksdb-", "rocksdbjni-", "picocli-", "grpc-netty-shaded-",
                // the daemons' metrics and dashboard, and cohort status --json
                "micrometer-registry-prometheus-", "jackson-databind-")) {
            assertTrue(lib.stream().anyMatch(j -> j.startsWith(needed)), needed + " in lib/: " + lib);
        }
        for (String benchOnly : List.of("cohort-bench-", "jmh-core-", "fory-core-", "async-profiler-")) {
            assertFalse(lib.stream().anyMatch(j -> j.startsWith(benchOnly)), benchOnly + " is the bench's alone: " + lib);
            assertTrue(bench.stream().anyMatch(j -> j.startsWith(benchOnly)), benchOnly + " in bench/: " + bench);
        }
        Set<String> both = new TreeSet<>(lib);
        both.retainAll(bench);
        assertEquals(Set.of(), both, "a jar in lib/ and in bench/");
        assertTrue(lib.stream().allMatch(j -> j.endsWith(".jar") && !j.contains("-all")), "plain jars: " + lib);
    }

    @Test
    void versionPrintsTheReleaseAndTheProtocol(@TempDir Path cwd, @TempDir Path home, @TempDir Path tmp) throws Exception {
        try (Launched version = new Launched(release, cwd, environment(home, tmp), List.of("--version"))) {
            assertEquals(0, version.exitStatus(60), version.output());
            assertEquals("cohort " + VERSION + " (protocol " + Protocol.VERSION + ")", version.output().strip());
        }
    }

    @Test
    void daemonsRunAJobAndLeaveNothingInTmpOrTheWorkingDirectory(@TempDir Path cwd, @TempDir Path home,
            @TempDir Path tmp, @TempDir Path app) throws Exception {
        // The application's classes, outside any source tree: this test's own compiled classes.
        Path classes = Path.of(SquareJob.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        try (Stream<Path> all = Files.walk(classes)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Path to = app.resolve(classes.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
            }
        }
        Map<String, String> env = environment(home, tmp);
        List<Integer> squares = new ArrayList<>();
        try (Launched coordinator = new Launched(release, cwd, env, List.of("coordinator", "--port", "0", "--journal", "batch"))) {
            String target = coordinator.await("cohort coordinator listening on (127\\.0\\.0\\.1:\\d+)", 90).group(1);
            try (Launched worker = new Launched(release, cwd, env,
                    List.of("worker", "--coordinator", target, "--slots", "2", "--classpath", app.toString()))) {
                worker.await("cohort worker \\S+ attached to", 90);
                try (CohortExecutor cohort = Cohort.connect(target)) {
                    cohort.map(SquareJob.square(), IntStream.rangeClosed(1, 50).boxed().toList()).forEach(squares::add);
                }
                assertEquals(0, worker.terminate(60), "a drained worker exits 0:\n" + worker.output());
            }
            assertEquals(0, coordinator.terminate(60), coordinator.output());
        }
        assertEquals(IntStream.rangeClosed(1, 50).map(x -> x * x).boxed().toList(), squares);
        assertEquals(List.of(), contents(tmp), "left in java.io.tmpdir");
        assertEquals(List.of(), contents(cwd), "left in the working directory");
        // The journal, and RocksDB's native library, went to the default state directory.
        Path journal = home.resolve(".local/state/cohort/journal-0");
        assertTrue(Files.isDirectory(journal), contents(home).toString());
        try (Stream<Path> natives = Files.list(journal.resolve("native"))) {
            assertTrue(natives.anyMatch(p -> p.getFileName().toString().startsWith("librocksdbjni")), journal.toString());
        }
    }
}
