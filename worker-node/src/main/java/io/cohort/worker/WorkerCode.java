package io.cohort.worker;

import io.grpc.Channel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A worker's shipped code: its bundle cache on disk and the loaders built from it. Without a
 * configured directory the cache is a temporary one, deleted when the worker stops.
 */
final class WorkerCode implements AutoCloseable {
    private final BundleCache cache;
    private final CodeLoaders loaders;
    private final boolean temporary;

    private WorkerCode(BundleCache cache, CodeLoaders loaders, boolean temporary) {
        this.cache = cache;
        this.loaders = loaders;
        this.temporary = temporary;
    }

    static WorkerCode open(WorkerConfig config, Channel channel) {
        try {
            Path dir = config.codeCacheDir().isPresent() ? config.codeCacheDir().get()
                    : Files.createTempDirectory("cohort-bundles-");
            BundleCache cache = new BundleCache(dir, config.codeCacheBytes(), channel);
            return new WorkerCode(cache, new CodeLoaders(cache, config.classLoader()), config.codeCacheDir().isEmpty());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the code cache: " + e.getMessage(), e);
        }
    }

    /**
     * For a child JVM: its daemon's cache directory, fetching into it what is missing when it has
     * a channel; evicting is left to the daemon.
     */
    static WorkerCode shared(Path dir, Channel channel, ClassLoader parent) {
        try {
            BundleCache cache = new BundleCache(dir, Long.MAX_VALUE, channel);
            return new WorkerCode(cache, new CodeLoaders(cache, parent), false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the code cache " + dir + ": " + e.getMessage(), e);
        }
    }

    BundleCache cache() {
        return cache;
    }

    CodeLoaders loaders() {
        return loaders;
    }

    @Override
    public void close() {
        if (!temporary) {
            return;
        }
        try (Stream<Path> files = Files.walk(cache.directory())) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.getLogger(WorkerCode.class.getName()).log(System.Logger.Level.WARNING,
                    "cannot delete the code cache " + cache.directory() + ": " + e);
        }
    }
}
