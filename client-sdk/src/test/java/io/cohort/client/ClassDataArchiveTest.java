package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The workers' class-data archive cache: written once, used after, and a bad file never
 * stops a JVM from starting. Runs real JVMs on a small jar made here.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClassDataArchiveTest {

    /** The main class of the JVMs these tests start. */
    public static final class Hello {
        public static void main(String[] args) {
            System.out.println("hello");
        }
    }

    @TempDir
    Path tmp;

    @Test
    void aWorkerExitWritesTheArchiveLaterJvmsMapItAndABadOneIsNeverFatal() throws Exception {
        Path jar = helloJar();
        Path cache = tmp.resolve("cache");
        ClassDataArchive archive = ClassDataArchive.of(cache, jar.toString(), List.of()).orElseThrow();
        assertTrue(archive.find().isEmpty());

        Path dump = archive.newDumpPath();
        assertEquals("hello\n", run(archive.dumpOptions(dump), jar), "nothing but the program's output");
        archive.publish(dump);
        Path published = archive.find().orElseThrow();
        assertFalse(Files.exists(dump));
        List<String> logged = new ArrayList<>(archive.useOptions(published));
        logged.add("-Xlog:class+load");
        assertTrue(run(logged, jar)
                .contains(Hello.class.getName() + " source: shared objects file (top)"), "the class comes from the archive");

        // The same length, other bytes: the JVM refuses it quietly and starts anyway.
        long length = Files.size(published);
        published.toFile().setWritable(true);
        byte[] junk = new byte[(int) length];
        new Random(7).nextBytes(junk);
        Files.write(published, junk);
        assertEquals(Optional.of(published), archive.find());
        assertEquals("hello\n", run(archive.useOptions(published), jar));

        // A stale archive (the jar changed since): refused quietly too, and a new key.
        Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 5_000));
        assertEquals("hello\n", run(archive.useOptions(published), jar));
        assertNotEquals(archive.toString(), ClassDataArchive.of(cache, jar.toString(), List.of()).orElseThrow().toString());

        // Truncated, it would crash the JVM: it is never handed out, and it is deleted.
        try (FileChannel ch = FileChannel.open(published, StandardOpenOption.WRITE)) {
            ch.truncate(length / 2);
        }
        assertTrue(archive.find().isEmpty());
        assertFalse(Files.exists(published));
    }

    @Test
    void noArchiveForADirectoryOnTheClassPathOrOptionsThatSetUpSharing() throws IOException {
        Path jar = helloJar();
        Path dir = Files.createDirectories(tmp.resolve("classes"));
        Path cache = tmp.resolve("cache");
        assertTrue(ClassDataArchive.of(cache, jar + File.pathSeparator + dir, List.of()).isEmpty());
        assertTrue(ClassDataArchive.of(cache, jar.toString(), List.of("-Xshare:off")).isEmpty());
        assertTrue(ClassDataArchive.of(cache, jar.toString(), List.of("-XX:SharedArchiveFile=/x.jsa")).isEmpty());
        assertTrue(ClassDataArchive.of(cache, jar.toString(), List.of("-Xmx64m")).isPresent());
        assertNotEquals(ClassDataArchive.of(cache, jar.toString(), List.of("-Xmx64m")).orElseThrow().toString(),
                ClassDataArchive.of(cache, jar.toString(), List.of()).orElseThrow().toString(),
                "other JVM options, another archive");
    }

    @Test
    void theCacheKeepsOnlyTheMostRecentlyUsedArchives() throws IOException {
        Path cache = tmp.resolve("cache");
        List<ClassDataArchive> archives = new ArrayList<>();
        for (int i = 0; i < ClassDataArchive.KEEP + 2; i++) {
            Path jar = Files.write(tmp.resolve("app" + i + ".jar"), new byte[] {(byte) i});
            ClassDataArchive a = ClassDataArchive.of(cache, jar.toString(), List.of()).orElseThrow();
            Path dump = a.newDumpPath();
            Files.write(dump, new byte[100 + i]);
            a.publish(dump);
            Path p = a.find().orElseThrow();
            Files.setLastModifiedTime(p, FileTime.fromMillis(1_000_000L * (i + 1)));
            archives.add(a);
        }
        try (Stream<Path> files = Files.list(cache)) {
            assertEquals(ClassDataArchive.KEEP, files.count());
        }
        assertTrue(archives.get(0).find().isEmpty(), "the least recently used went");
        assertTrue(archives.get(archives.size() - 1).find().isPresent());
    }

    private Path helloJar() throws IOException {
        Path jar = tmp.resolve("hello.jar");
        String entry = Hello.class.getName().replace('.', '/') + ".class";
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             InputStream in = Hello.class.getClassLoader().getResourceAsStream(entry)) {
            out.putNextEntry(new JarEntry(entry));
            in.transferTo(out);
            out.closeEntry();
        }
        return jar;
    }

    /** Runs Hello in a new JVM; returns its standard output (and fails on a non-zero exit). */
    private static String run(List<String> options, Path jar) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options);
        command.addAll(List.of("-cp", jar.toString(), Hello.class.getName()));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the JVM ended");
        assertEquals(0, p.exitValue(), "exit status; output: " + out);
        return out;
    }
}
