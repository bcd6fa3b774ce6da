package io.cohort.worker;

import com.google.protobuf.ByteString;
import io.cohort.common.ShippedCode;
import io.cohort.proto.v1.Bundle;
import io.cohort.proto.v1.BundleChunk;
import io.cohort.proto.v1.CodeServiceGrpc;
import io.cohort.proto.v1.FetchBundleRequest;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Shipped bundles on the worker's disk, one file per bundle named by its hex SHA-256. A bundle
 * is fetched from the coordinator on first use and kept only if its bytes hash to its name.
 * Bounded in bytes: past the bound the least recently used bundles that no loader holds open
 * are deleted. Without a channel (a child JVM) it only reads what its parent fetched.
 * Thread-safe: one fetch per bundle at a time, whoever asks.
 */
final class BundleCache {
    private static final System.Logger LOG = System.getLogger(BundleCache.class.getName());
    private static final long FETCH_MINUTES = 10;
    private final Path dir;
    private final long maxBytes;
    private final Channel channel;
    private final Map<String, CompletableFuture<Path>> fetching = new ConcurrentHashMap<>();
    /** Guarded by this: hex name to size, least recently used first. */
    private final LinkedHashMap<String, Long> held = new LinkedHashMap<>(16, 0.75f, true);
    /** Guarded by this: bundles a live loader reads from, never deleted. */
    private final Map<String, Integer> pinned = new java.util.HashMap<>();
    private long bytes;

    BundleCache(Path dir, long maxBytes, Channel channel) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.maxBytes = maxBytes;
        this.channel = channel;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted(Comparator.comparing(Path::toString)).toList()) {
                String name = f.getFileName().toString();
                if (name.matches("[0-9a-f]{64}")) {
                    held.put(name, Files.size(f));
                    bytes += Files.size(f);
                }
            }
        }
    }

    Path directory() {
        return dir;
    }

    /** The names of the bundles on disk (tests). */
    synchronized Set<String> held() {
        return Set.copyOf(held.keySet());
    }

    /** The bundle's file, fetched first if need be; throws {@link BundleUnavailable} saying why it cannot be had. */
    Path get(Bundle bundle) {
        String name = ShippedCode.hex(bundle.getSha256());
        synchronized (this) {
            // On disk: fetched by this process, or (a shared directory) by its daemon or a sibling,
            // each of which verified it before moving it into place.
            Path p = dir.resolve(name);
            if (Files.exists(p)) {
                if (held.get(name) == null) {
                    keep(name, bundle.getSize());
                }
                return p;
            }
        }
        if (channel == null) {
            throw new BundleUnavailable("bundle " + name + " (" + bundle.getName() + ") is not in " + dir);
        }
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> running = fetching.putIfAbsent(name, mine);
        if (running != null) {
            return running.join();
        }
        try {
            Path p = fetch(bundle, name);
            mine.complete(p);
            return p;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            fetching.remove(name, mine);
        }
    }

    private Path fetch(Bundle bundle, String name) {
        Path part = dir.resolve(name + "." + Thread.currentThread().getId() + ".part");
        MessageDigest md = ShippedCode.sha256();
        long size = 0;
        try {
            try (OutputStream out = Files.newOutputStream(part)) {
                Iterator<BundleChunk> chunks = CodeServiceGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(FETCH_MINUTES, TimeUnit.MINUTES)
                        .fetch(FetchBundleRequest.newBuilder().setSha256(bundle.getSha256()).build());
                while (chunks.hasNext()) {
                    ByteString data = chunks.next().getData();
                    for (java.nio.ByteBuffer b : data.asReadOnlyByteBufferList()) {
                        md.update(b);
                    }
                    data.writeTo(out);
                    size += data.size();
                }
            }
            ByteString actual = ByteString.copyFrom(md.digest());
            if (!actual.equals(bundle.getSha256())) {
                throw new BundleUnavailable("bundle " + name + " (" + bundle.getName() + ") fetched from the coordinator"
                        + " does not match its hash: its " + size + " bytes hash to " + ShippedCode.hex(actual)
                        + "; refused");
            }
            Path kept = dir.resolve(name);
            Files.move(part, kept, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            keep(name, size);
            return kept;
        } catch (StatusRuntimeException e) {
            throw new BundleUnavailable("cannot fetch bundle " + name + " (" + bundle.getName() + ") from the coordinator: "
                    + e.getStatus().getCode() + " " + e.getStatus().getDescription());
        } catch (IOException e) {
            throw new BundleUnavailable("cannot store bundle " + name + " in " + dir + ": " + e);
        } finally {
            try {
                Files.deleteIfExists(part);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot delete " + part + ": " + e);
            }
        }
    }

    /** Keeps a bundle from eviction while a loader reads it. */
    synchronized void pin(String name) {
        pinned.merge(name, 1, Integer::sum);
    }

    synchronized void unpin(String name) {
        pinned.computeIfPresent(name, (k, n) -> n == 1 ? null : n - 1);
        evict();
    }

    private synchronized void keep(String name, long size) {
        Long before = held.put(name, size);
        bytes += size - (before == null ? 0 : before);
        evict();
    }

    private void evict() {
        Iterator<Map.Entry<String, Long>> lru = held.entrySet().iterator();
        while (bytes > maxBytes && lru.hasNext()) {
            Map.Entry<String, Long> e = lru.next();
            if (pinned.containsKey(e.getKey())) {
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

    /** Why a bundle cannot be had; the message names its hash. */
    static final class BundleUnavailable extends RuntimeException {
        BundleUnavailable(String message) {
            super(message);
        }
    }
}
