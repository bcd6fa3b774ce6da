package io.cohort.client;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The class-data-sharing (AppCDS) archive of local worker JVMs: a cache, like Python's
 * {@code .pyc} files. A worker started without one writes it when it exits cleanly
 * ({@code -XX:ArchiveClassesAtExit}); later workers map it ({@code -XX:SharedArchiveFile}) and
 * skip most of their class loading and verification, which is most of a worker's start.
 *
 * <p>An archive is keyed by everything it depends on: the JDK, the class path with each jar's
 * size and time, and the worker JVM options. A stale or unreadable one is ignored by the JVM
 * (its warnings are turned off); a truncated one would crash it, so an archive is only
 * published complete (renamed into place once its writer exited with 0) under a name holding
 * its length, and used only when the file still has that length. The JDK cannot archive
 * classes from directories, so a class path holding one gets no archive. Thread-safe.
 */
final class ClassDataArchive {
    private static final System.Logger LOG = System.getLogger(ClassDataArchive.class.getName());
    /** Archives kept in the cache directory; older ones (other class paths, JDKs) are deleted. */
    static final int KEEP = 4;
    private static final String SUFFIX = ".jsa";
    /** JVM options of ours or the user's that would clash with an archive of ours. */
    private static final List<String> CLASHING = List.of("-Xshare", "-XX:SharedArchiveFile", "-XX:ArchiveClassesAtExit",
            "-XX:SharedClassListFile", "-XX:DumpLoadedClassList");
    /** The JVM's cds warnings (classes it cannot archive, a stale archive) would land on the user's stdout. */
    private static final String QUIET = "-Xlog:cds*=off";

    private final Path dir;
    private final String key;

    private ClassDataArchive(Path dir, String key) {
        this.dir = dir;
        this.key = key;
    }

    /**
     * The archive for workers started with {@code jvmOptions} and {@code classPath} by this
     * JVM's java, or empty when none can be used: options that set up sharing themselves, a
     * directory on the class path, or no usable cache directory.
     */
    static Optional<ClassDataArchive> of(Path dir, String classPath, List<String> jvmOptions) {
        for (String option : jvmOptions) {
            if (CLASHING.stream().anyMatch(option::startsWith)) {
                return Optional.empty();
            }
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            update(sha, "cohort-cds-1");
            update(sha, System.getProperty("java.home"));
            update(sha, System.getProperty("java.vm.version"));
            update(sha, String.join("\u0000", jvmOptions));
            int jars = 0;
            for (String entry : classPath.split(File.pathSeparator)) {
                if (entry.isEmpty()) {
                    continue;
                }
                Path p = Path.of(entry);
                update(sha, entry);
                if (Files.isDirectory(p)) {
                    return Optional.empty();   // the JDK 17 dump fails on a non-empty directory
                }
                if (Files.isRegularFile(p)) {
                    update(sha, Files.size(p) + "@" + Files.getLastModifiedTime(p).toMillis());
                    jars++;
                }
            }
            if (jars == 0) {
                return Optional.empty();
            }
            Files.createDirectories(dir);
            return Optional.of(new ClassDataArchive(dir, HexFormat.of().formatHex(sha.digest(), 0, 12)));
        } catch (IOException | NoSuchAlgorithmException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "no class-data archive for local workers: " + e);
            return Optional.empty();
        }
    }

    private static void update(MessageDigest sha, String s) {
        sha.update(s.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }

    /** The default cache directory: {@code $XDG_CACHE_HOME/cohort}, else {@code ~/.cache/cohort}. */
    static Path defaultDirectory() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "cohort");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "cohort");
    }

    /** A complete archive for this key, if one is there (its length is in its name). */
    Optional<Path> find() {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, key + "-*" + SUFFIX)) {
            for (Path p : files) {
                String name = p.getFileName().toString();
                String length = name.substring(key.length() + 1, name.length() - SUFFIX.length());
                try {
                    if (Files.size(p) == Long.parseLong(length)) {
                        Files.setLastModifiedTime(p, FileTime.fromMillis(System.currentTimeMillis()));   // recently used
                        return Optional.of(p);
                    }
                } catch (NumberFormatException e) {
                    // not one of ours
                }
                Files.deleteIfExists(p);   // truncated: mapping it would crash the JVM
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot read the class-data cache " + dir + ": " + e);
        }
        return Optional.empty();
    }

    /** JVM options that map {@code archive}. */
    static List<String> useOptions(Path archive) {
        return List.of("-XX:SharedArchiveFile=" + archive, QUIET);
    }

    /** A fresh path for a worker to write an archive to; {@link #publish} it after the worker exits with 0. */
    Path newDumpPath() {
        return dir.resolve(key + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    /** JVM options that write an archive to {@code dumpPath} when the JVM exits. */
    static List<String> dumpOptions(Path dumpPath) {
        return List.of("-XX:ArchiveClassesAtExit=" + dumpPath, QUIET);
    }

    /** Puts a finished dump in place and trims the cache to the {@link #KEEP} most recently used archives. */
    void publish(Path dumpPath) {
        try {
            if (!Files.isRegularFile(dumpPath) || Files.size(dumpPath) == 0) {
                Files.deleteIfExists(dumpPath);
                return;
            }
            Path target = dir.resolve(key + "-" + Files.size(dumpPath) + SUFFIX);
            Files.move(dumpPath, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            trim();
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot keep the class-data archive " + dumpPath + ": " + e);
            discard(dumpPath);
        }
    }

    /** Deletes an archive or dump, quietly. */
    static void discard(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot delete " + p + ": " + e);
        }
    }

    private void trim() throws IOException {
        List<Path> archives = new ArrayList<>();
        long hourAgo = System.currentTimeMillis() - 3_600_000;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path p : files) {
                String name = p.getFileName().toString();
                if (name.endsWith(SUFFIX)) {
                    archives.add(p);
                } else if (name.contains(".tmp-") && Files.getLastModifiedTime(p).toMillis() < hourAgo) {
                    discard(p);   // left by a worker killed while writing
                }
            }
        }
        archives.sort(Comparator.comparing((Path p) -> {
            try {
                return Files.getLastModifiedTime(p).toMillis();
            } catch (IOException e) {
                return 0L;
            }
        }).reversed());
        for (Path old : archives.subList(Math.min(KEEP, archives.size()), archives.size())) {
            discard(old);
        }
    }

    @Override
    public String toString() {
        return "ClassDataArchive{" + dir + ", " + key + "}";
    }
}
