package io.cohort.coordinator.code;

import com.google.protobuf.ByteString;
import io.cohort.common.ShippedCode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The coordinator's content-addressed store of shipped bundles: one file per bundle, named by
 * the hex SHA-256 of its bytes, in a directory it owns. Bounded in bytes: past the bound the
 * least recently used bundles are deleted (a worker that needs one later gets NOT_FOUND and
 * its task fails naming the hash). Thread-safe.
 */
public final class CodeStore implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CodeStore.class.getName());
    private final Path dir;
    private final boolean deleteOnClose;
    private final long maxBytes;
    private final List<String> allowPackages;
    private final AtomicLong uploads = new AtomicLong();
    /** Guarded by this: hex name to size, least recently used first. */
    private final LinkedHashMap<String, Long> held = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;   // guarded by this

    private CodeStore(Path dir, boolean deleteOnClose, long maxBytes, List<String> allowPackages) throws IOException {
        this.dir = dir;
        this.deleteOnClose = deleteOnClose;
        this.maxBytes = maxBytes;
        this.allowPackages = allowPackages.stream().map(p -> p.endsWith(".") ? p : p + ".").toList();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted(Comparator.comparing(CodeStore::modified)).toList()) {
                String name = f.getFileName().toString();
                if (name.matches("[0-9a-f]{64}")) {
                    long size = Files.size(f);
                    held.put(name, size);
                    bytes += size;
                } else if (name.endsWith(".part")) {
                    Files.deleteIfExists(f);   // an upload cut short by a crash
                }
            }
        }
    }

    /** A store in {@code dir} (created if missing), kept across restarts. */
    public static CodeStore in(Path dir, long maxBytes, List<String> allowPackages) throws IOException {
        Files.createDirectories(dir);
        return new CodeStore(dir, false, maxBytes, allowPackages);
    }

    /** A store in a new temporary directory, deleted on {@link #close()}. */
    public static CodeStore temporary(long maxBytes, List<String> allowPackages) throws IOException {
        return new CodeStore(Files.createTempDirectory("cohort-code-"), true, maxBytes, allowPackages);
    }

    public synchronized boolean has(ByteString sha256) {
        return held.get(ShippedCode.hex(sha256)) != null;
    }

    /** The bundle's bytes, or null when the store does not hold it. */
    public InputStream open(ByteString sha256) throws IOException {
        String name = ShippedCode.hex(sha256);
        synchronized (this) {
            if (held.get(name) == null) {
                return null;
            }
        }
        try {
            return Files.newInputStream(dir.resolve(name));
        } catch (java.nio.file.NoSuchFileException e) {
            return null;   // evicted meanwhile
        }
    }

    /** Bundles held (tests, status). */
    public synchronized int size() {
        return held.size();
    }

    public Path directory() {
        return dir;
    }

    /** Refused upload: the message says why. */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message);
        }
    }

    /** Starts storing a bundle that should hash to {@code sha256}; the caller writes its bytes in order. */
    public Upload begin(ByteString sha256, long declaredSize) throws IOException, Refused {
        if (sha256.size() != 32) {
            throw new Refused("a bundle is named by its 32-byte SHA-256, got " + sha256.size() + " bytes");
        }
        if (declaredSize > maxBytes) {
            throw new Refused("bundle " + ShippedCode.hex(sha256) + " is " + declaredSize
                    + " bytes, more than the whole code store holds (" + maxBytes + " bytes, --code-store-bytes)");
        }
        Path part = dir.resolve(ShippedCode.hex(sha256) + "." + uploads.incrementAndGet() + ".part");
        return new Upload(sha256, part);
    }

    /** One bundle being written. Not thread-safe; gRPC delivers its chunks one at a time. */
    public final class Upload {
        private final ByteString expected;
        private final Path part;
        private final OutputStream out;
        private final MessageDigest md = ShippedCode.sha256();
        private long written;

        private Upload(ByteString expected, Path part) throws IOException {
            this.expected = expected;
            this.part = part;
            this.out = Files.newOutputStream(part);
        }

        public void write(ByteString data) throws IOException, Refused {
            written += data.size();
            if (written > maxBytes) {
                throw new Refused("bundle " + ShippedCode.hex(expected) + " is more than the code store holds ("
                        + maxBytes + " bytes, --code-store-bytes)");
            }
            for (java.nio.ByteBuffer b : data.asReadOnlyByteBufferList()) {
                md.update(b.duplicate());
            }
            data.writeTo(out);
        }

        /** Checks the hash and the packages, then keeps the bundle. */
        public void finish() throws IOException, Refused {
            out.close();
            try {
                ByteString actual = ByteString.copyFrom(md.digest());
                if (!actual.equals(expected)) {
                    throw new Refused("bundle " + ShippedCode.hex(expected) + " does not match its hash: its "
                            + written + " bytes hash to " + ShippedCode.hex(actual));
                }
                checkPackages(part, ShippedCode.hex(expected));
                String name = ShippedCode.hex(expected);
                Files.move(part, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                keep(name, written);
            } finally {
                Files.deleteIfExists(part);
            }
        }

        public void abandon() {
            try {
                out.close();
                Files.deleteIfExists(part);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot delete " + part + ": " + e);
            }
        }
    }

    private synchronized void keep(String name, long size) {
        Long before = held.put(name, size);
        bytes += size - (before == null ? 0 : before);
        Iterator<Map.Entry<String, Long>> lru = held.entrySet().iterator();
        while (bytes > maxBytes && lru.hasNext()) {
            Map.Entry<String, Long> e = lru.next();
            if (e.getKey().equals(name)) {
                continue;
            }
            lru.remove();
            bytes -= e.getValue();
            try {
                Files.deleteIfExists(dir.resolve(e.getKey()));
            } catch (IOException ex) {
                LOG.log(System.Logger.Level.WARNING, "cannot delete bundle " + e.getKey() + ": " + ex);
            }
        }
    }

    /** A bundle must be a jar (zip), and with an allow-list every class in it must be in an allowed package. */
    private void checkPackages(Path jar, String name) throws IOException, Refused {
        boolean any = false;
        try (ZipInputStream zip = new ZipInputStream(Files.newInputStream(jar))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                any = true;
                String entry = e.getName();
                if (allowPackages.isEmpty() || !entry.endsWith(".class") || entry.endsWith("module-info.class")
                        || entry.startsWith("META-INF/")) {
                    continue;
                }
                String className = entry.substring(0, entry.length() - ".class".length()).replace('/', '.');
                if (allowPackages.stream().noneMatch(className::startsWith)) {
                    throw new Refused("bundle " + name + " holds class " + className + ", outside the packages this"
                            + " coordinator allows shipped code in (--ship-allow-package " + String.join(",",
                            allowPackages.stream().map(p -> p.substring(0, p.length() - 1)).toList()) + ")");
                }
            }
        } catch (java.util.zip.ZipException e) {
            throw new Refused("bundle " + name + " is not a jar: " + e.getMessage());
        }
        if (!any) {
            throw new Refused("bundle " + name + " is not a jar (no entries)");
        }
    }

    private static java.nio.file.attribute.FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        if (!deleteOnClose || !Files.exists(dir)) {
            return;   // kept, or already deleted by an earlier close
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
