package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local workers on JDK 25 or later use the JVM's ahead-of-time cache: the first program's
 * worker writes it, later ones start from it, and a stale, truncated or foreign file in its
 * place never stops a worker. Each run is a user's program in a fresh JVM on this JDK with a
 * class path of jars only (the JDK caches no classes from directories), whose worker JVM runs
 * on the newer JDK and runs a task.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class AotCacheTest {
    /** Where a JDK 25 or later is looked for besides {@code /usr/lib/jvm}. */
    static final String JDK_ENV = "COHORT_TEST_JDK25";

    /**
     * The user's program: one local worker on the JDK named by args[1], its cache in args[0];
     * prints the answer, and the worker's command line on stderr.
     */
    public static final class Program {
        public static void main(String[] args) throws Exception {
            LocalClusterConfig config = LocalClusterConfig.builder().workers(1).slotsPerWorker(1)
                    .cacheDirectory(Path.of(args[0])).javaHome(Path.of(args[1])).build();
            try (CohortExecutor cohort = Cohort.local(config)) {
                int answer = cohort.submit(() -> 6 * 7).get(120, TimeUnit.SECONDS);
                long pid = cohort.clusterInfo().workers().get(0).pid();
                String worker = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"), StandardCharsets.ISO_8859_1);
                System.out.println("answer=" + answer);
                System.err.println("worker=" + worker.replace('\u0000', ' '));
            }
        }
    }

    private static Path jdk;
    private static String classPath;

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;

    @BeforeAll
    static void findJdkAndPackTheClassPath() throws IOException {
        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "reads a worker's command line from /proc");
        jdk = newerJdk().orElse(null);
        assumeTrue(jdk != null, "no JDK " + ClassDataArchive.AOT_FEATURE + " or later in $" + JDK_ENV
                + " or /usr/lib/jvm: the AOT cache tests need one");
        classPath = classPathOfJars(shared);
    }

    @Test
    void theFirstProgramWritesTheCacheALaterOneStartsFromItAndStdoutStaysTheProgramsOwn() throws Exception {
        Path cache = tmp.resolve("cache");
        Run first = run(cache);
        assertEquals("answer=42\n", first.out(), "no JVM notice on the user's stdout");
        assertTrue(first.err().lines().noneMatch(l -> !l.startsWith("worker=") && l.contains("AOT")),
                "nor on its stderr: " + first.err());
        assertTrue(first.worker().contains("-XX:AOTCacheOutput="), first.worker());
        Path aot = only(cache, ".aot");
        assertTrue(Files.size(aot) > 1_000_000, "a real cache: " + Files.size(aot));

        Run second = run(cache);
        assertEquals("answer=42\n", second.out());
        assertTrue(second.worker().contains("-XX:AOTCache=" + aot), second.worker());
    }

    @Test
    void aStaleTruncatedOrForeignCacheFileIsIgnoredAndTheWorkerStillRunsTheTask() throws Exception {
        Path cache = tmp.resolve("cache");
        run(cache);
        Path good = only(cache, ".aot");
        byte[] goodBytes = Files.readAllBytes(good);
        String key = good.getFileName().toString().substring(0, good.getFileName().toString().indexOf('-'));

        // Stale: a cache this JDK wrote for another class path (a jar of another build), under this key.
        Path otherCache = tmp.resolve("other-cache");
        String first = classPath.split(File.pathSeparator)[0];
        Path otherJar = tmp.resolve("other.jar");
        Files.copy(Path.of(first), otherJar);
        run(otherCache, otherJar + classPath.substring(first.length()));
        Path stale = only(otherCache, ".aot");
        expectIgnored(cache, key, Files.readAllBytes(stale));

        // Truncated, under a name that claims the truncated length (so only the JVM can tell).
        byte[] half = new byte[goodBytes.length / 2];
        System.arraycopy(goodBytes, 0, half, 0, half.length);
        expectIgnored(cache, key, half);

        // Foreign: not a cache at all.
        byte[] junk = new byte[goodBytes.length];
        new Random(11).nextBytes(junk);
        expectIgnored(cache, key, junk);
    }

    @Test
    void aCacheFileWhoseLengthIsNotItsNamesIsNeverHandedOut() throws Exception {
        JavaRuntime runtime = JavaRuntime.of(jdk);
        assertTrue(runtime.feature() >= ClassDataArchive.AOT_FEATURE, "read from " + jdk + "/release: " + runtime.feature());
        ClassDataArchive archive = ClassDataArchive.of(tmp, runtime, classPath, List.of()).orElseThrow();
        assertTrue(archive.aot());
        Path dump = archive.newDumpPath();
        Files.write(dump, new byte[4096]);
        archive.publish(dump);
        Path published = archive.find().orElseThrow();
        assertTrue(published.getFileName().toString().endsWith("-4096.aot"), published.toString());
        try (FileChannel ch = FileChannel.open(published, StandardOpenOption.WRITE)) {
            ch.truncate(100);
        }
        assertTrue(archive.find().isEmpty());
        assertFalse(Files.exists(published));
    }

    /** Puts {@code bytes} where the cache for {@code key} goes; a program then still gets its answer. */
    private void expectIgnored(Path cache, String key, byte[] bytes) throws Exception {
        try (Stream<Path> files = Files.list(cache)) {
            for (Path p : files.collect(Collectors.toList())) {
                Files.delete(p);
            }
        }
        Path planted = cache.resolve(key + "-" + bytes.length + ".aot");
        Files.write(planted, bytes);
        Run r = run(cache);
        assertEquals("answer=42\n", r.out(), "the worker started and ran the task; stdout is the program's own");
        assertTrue(r.worker().contains("-XX:AOTCache=" + planted), "the planted file was offered: " + r.worker());
    }

    private record Run(String out, String err, String worker) {}

    private Run run(Path cache) throws Exception {
        return run(cache, classPath);
    }

    /** Runs {@link Program} in a new JVM on this JDK with {@code cp} as its class path. */
    private Run run(Path cache, String cp) throws Exception {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", cp, Program.class.getName(), cache.toString(), jdk.toString());
        Path err = Files.createTempFile(tmp, "program", ".err");
        Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(240, TimeUnit.SECONDS), "the program ended");
        String errText = Files.readString(err);
        assertEquals(0, p.exitValue(), "exit status; stdout: " + out + "; stderr: " + errText);
        String worker = errText.lines().filter(l -> l.startsWith("worker=")).findFirst().orElse("");
        return new Run(out, errText, worker);
    }

    private static Path only(Path dir, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> found = files.filter(p -> p.getFileName().toString().endsWith(suffix)).collect(Collectors.toList());
            assertEquals(1, found.size(), "one complete cache file in " + dir + ": " + found);
            return found.get(0);
        }
    }

    /** A JDK of feature {@link ClassDataArchive#AOT_FEATURE} or later: {@code $COHORT_TEST_JDK25}, else one in /usr/lib/jvm. */
    static Optional<Path> newerJdk() {
        List<Path> candidates = new ArrayList<>();
        String env = System.getenv(JDK_ENV);
        if (env != null && !env.isBlank()) {
            candidates.add(Path.of(env));
        }
        try (Stream<Path> homes = Files.list(Path.of("/usr/lib/jvm"))) {
            homes.sorted().forEach(candidates::add);
        } catch (IOException e) {
            // no such directory: only the variable
        }
        return candidates.stream()
                .filter(h -> Files.isExecutable(h.resolve("bin").resolve("java")))
                .filter(h -> JavaRuntime.of(h).feature() >= ClassDataArchive.AOT_FEATURE)
                .findFirst();
    }

    /** The test class path with each directory packed into a jar of its own. */
    private static String classPathOfJars(Path dir) throws IOException {
        List<String> entries = new ArrayList<>();
        int n = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (Files.isDirectory(p)) {
                Path jar = dir.resolve("dir" + n++ + ".jar");
                pack(p, jar);
                entries.add(jar.toString());
            } else if (Files.isRegularFile(p)) {
                entries.add(entry);
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static void pack(Path root, Path jar) throws IOException {
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().collect(Collectors.toList())) {
                out.putNextEntry(new JarEntry(root.relativize(f).toString().replace(File.separatorChar, '/')));
                Files.copy(f, (OutputStream) out);
                out.closeEntry();
            }
        }
    }
}
