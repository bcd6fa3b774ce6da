package io.cohort.client;

import io.cohort.common.ShippedCode;
import io.cohort.proto.v1.Bundle;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * One jar to ship, named by the SHA-256 of its bytes. A class directory is packed into a
 * temporary jar first, deterministically (entries in path order, a fixed time, nothing else),
 * so the same classes give the same hash on every run and every machine.
 */
final class BundleJar implements AutoCloseable {
    private static final LocalDateTime FIXED_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);
    private final Path file;
    private final boolean temporary;
    private final Bundle bundle;

    private BundleJar(Path file, boolean temporary, Bundle bundle) {
        this.file = file;
        this.temporary = temporary;
        this.bundle = bundle;
    }

    static BundleJar of(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new IOException("cannot ship " + path + ": it does not exist");
        }
        boolean dir = Files.isDirectory(path);
        Path jar = dir ? pack(path) : path;
        try {
            Bundle b = Bundle.newBuilder().setSha256(ShippedCode.sha256(Files.newInputStream(jar)))
                    .setSize(Files.size(jar)).setName(path.getFileName() == null ? path.toString()
                            : path.getFileName().toString()).build();
            return new BundleJar(jar, dir, b);
        } catch (IOException | RuntimeException e) {
            if (dir) {
                Files.deleteIfExists(jar);
            }
            throw e;
        }
    }

    /** The directory's files in a jar, in a fixed order with fixed times. */
    static Path pack(Path dir) throws IOException {
        Path jar = Files.createTempFile("cohort-ship-", ".jar");
        List<Path> files;
        try (Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        try (OutputStream out = Files.newOutputStream(jar); ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Path f : files) {
                ZipEntry e = new ZipEntry(dir.relativize(f).toString().replace('\\', '/'));
                e.setTimeLocal(FIXED_TIME);
                zip.putNextEntry(e);
                Files.copy(f, zip);
                zip.closeEntry();
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(jar);
            throw e;
        }
        return jar;
    }

    Path file() {
        return file;
    }

    Bundle bundle() {
        return bundle;
    }

    @Override
    public void close() {
        if (temporary) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                file.toFile().deleteOnExit();
            }
        }
    }
}
