package io.cohort.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** The release the distribution module built: its tarball and the same tree unpacked beside it. */
final class Release {
    /** The repository's deploy/ directory (the module's base directory, where Surefire runs). */
    static final Path DEPLOY = Path.of("").toAbsolutePath();
    static final Path TARGET = DEPLOY.resolveSibling("distribution").resolve("target");

    private Release() {
    }

    static Path tarball() {
        return one(TARGET, "cohort-*.tar.gz");
    }

    /** The unpacked tree, holding bin/cohort, lib/ and conf/. */
    static Path tree() {
        return one(one(TARGET, "cohort-*[!z]"), "cohort-*");
    }

    private static Path one(Path dir, String glob) {
        try (DirectoryStream<Path> found = Files.newDirectoryStream(dir, glob)) {
            for (Path p : found) {
                if (Files.isDirectory(p) == !glob.endsWith(".tar.gz")) {
                    return p;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("no release in " + dir + ": build the distribution module first", e);
        }
        throw new IllegalStateException("no " + glob + " in " + dir + ": build the distribution module first");
    }
}
