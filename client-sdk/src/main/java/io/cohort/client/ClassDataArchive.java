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
 * The class-data cache of local worker JVMs, like Python's {@code .pyc} files. A worker started
 * without one writes it when it exits cleanly; later workers map it and skip most of their
 * class loading and verification, which is most of a worker's start. On JDK 25 and later it
 * is the JVM's ahead-of-time cache (JEPs 483, 514, 515: classes loaded and linked, and method
 * profiles; written with {@code -XX:AOTCacheOutput}, used with {@code -XX:AOTCache}); on older
 * JDKs a dynamic AppCDS archive ({@code -XX:ArchiveClassesAtExit}, {@code -XX:SharedArchiveFile}).
 * JDK 24 has the AOT cache only in two steps, so it gets the AppCDS archive too.
 *
 * <p>A cache file is keyed by everything it depends on: its kind, the worker's JDK, the class
 * path with each jar's size and time, and the worker JVM options. A stale, foreign or damaged
 * one is ignored by the JVM (its warnings are turned off: they would land on the user's
 * stdout); a truncated AppCDS archive would crash JDK 17, so a file is only published complete
 * (renamed into place once its writer exited with 0) under a name holding its length, and used
 * only when the file still has that length. The JDK cannot archive classes from directories,
 * so a class path holding one gets no cache. The directory is safe to delete at any time.
 * Thread-safe.
 */
final class ClassDataArchive {
    private static final System.Logger LOG = System.getLogger(ClassDataArchive.class.getName());
    /** Archives kept in the cache directory; older ones (other class paths, JDKs) are deleted. */
    static final int KEEP = 4;
    /** The first JDK whose JVMs write an AOT cache in one step (JEP 514). */
    static final int AOT_FEATURE = 25;
    private static final List<String> SUFFIXES = List.of(".jsa", ".aot");
    /** JVM options of ours or the user's that would clash with a cache of ours. */
    private static final List<String> CLASHING = List.of("-Xshare", "-XX:SharedArchiveFile", "-XX:ArchiveClassesAtExit",
            "-XX:SharedClassListFile", "-XX:DumpLoadedClassList", "-XX:AOTCache", "-XX:AOTCacheOutput",
            "-XX:AOTConfiguration", "-XX:AOTMode", "-XX:+AutoCreateSharedArchive");

    private final Path dir;
    private final String key;
    private final boolean aot;

    private ClassDataArchive(Path dir, String key, boolean aot) {
        this.dir = dir;
        this.key = key;
        this.aot = aot;
    }

    /** The cache for workers started with {@code jvmOptions} and {@code classPath} by this JVM's own JDK. */
    static Optional<ClassDataArchive> of(Path dir, String classPath, List<String> jvmOptions) {
        return of(dir, JavaRuntime.current(), classPath, jvmOptions);
    }

    /**
     * The cache for workers started with {@code jvmOptions} and {@code classPath} on {@code jdk},
     * or empty when none can be used: options that set up sharing themselves, a directory on the
     * class path, a JDK of unknown version, or no usable cache directory.
     */
    static Optional<ClassDataArchive> of(Path dir, JavaRuntime jdk, String classPath, List<String> jvmOptions) {
        if (jdk.feature() == 0) {
            return Optional.empty();
        }
        boolean aot = jdk.feature() >= AOT_FEATURE;
        for (String option : jvmOptions) {
            if (CLASHING.stream().anyMatch(option::startsWith)) {
                return Optional.empty();
            }
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            update(sha, aot ? "cohort-aot-1" : "cohort-cds-2");
            update(sha, jdk.identity());
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
            return Optional.of(new ClassDataArchive(dir, HexFormat.of().formatHex(sha.digest(), 0, 12), aot));
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

    /** Whether this is a JDK 25+ AOT cache rather than an AppCDS archive. */
    boolean aot() {
        return aot;
    }

    private String suffix() {
        return aot ? ".aot" : ".jsa";
    }

    /** A complete cache file for this key, if one is there (its length is in its name). */
    Optional<Path> find() {
        String suffix = suffix();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, key + "-*" + suffix)) {
            for (Path p : files) {
                String name = p.getFileName().toString();
                String length = name.substring(key.length() + 1, name.length() - suffix.length());
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

    /**
     * JVM options that map {@code file}. The JVM's warnings about a stale or damaged file (on
     * stdout) are turned off: it then starts without the cache.
     */
    List<String> useOptions(Path file) {
        return aot ? List.of("-XX:AOTCache=" + file, "-Xlog:aot*=off,cds*=off")
                : List.of("-XX:SharedArchiveFile=" + file, "-Xlog:cds*=off");
    }

    /** A fresh path for a worker to write a cache file to; {@link #publish} it after the worker exits with 0. */
    Path newDumpPath() {
        // JDK 25 writes its training data next to the output, as <output>.config, and deletes it.
        return dir.resolve(key + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + suffix());
    }

    /**
     * JVM options that write a cache file to {@code dumpPath} when the JVM exits. The one-step
     * AOT cache prints its progress with the VM's own output, on stdout unless sent to stderr.
     */
    List<String> dumpOptions(Path dumpPath) {
        return aot ? List.of("-XX:AOTCacheOutput=" + dumpPath, "-Xlog:aot*=off,cds*=off", "-XX:+DisplayVMOutputToStderr")
                : List.of("-XX:ArchiveClassesAtExit=" + dumpPath, "-Xlog:cds*=off");
    }

    /** Puts a finished dump in place and trims the cache to the {@link #KEEP} most recently used files. */
    void publish(Path dumpPath) {
        try {
            if (!Files.isRegularFile(dumpPath) || Files.size(dumpPath) == 0) {
                Files.deleteIfExists(dumpPath);
                return;
            }
            Path target = dir.resolve(key + "-" + Files.size(dumpPath) + suffix());
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
                if (name.contains(".tmp-")) {
                    if (Files.getLastModifiedTime(p).toMillis() < hourAgo) {
                        discard(p);   // left by a worker killed while writing
                    }
                } else if (SUFFIXES.stream().anyMatch(name::endsWith)) {
                    archives.add(p);
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
        return "ClassDataArchive{" + dir + ", " + key + (aot ? ", aot" : ", appcds") + "}";
    }
}
