package io.cohort.worker;

import com.google.protobuf.ByteString;
import io.cohort.common.ShippedCode;
import io.cohort.proto.v1.Bundle;
import io.cohort.proto.v1.CodeRef;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One class loader per set of shipped bundles, shared by every function that ships the same
 * set and released (closed, its bundles unpinned) when the last of them lets go: a loader and
 * its classes become garbage once no function holds them, so Metaspace comes back.
 * Thread-safe.
 */
final class CodeLoaders {
    private static final System.Logger LOG = System.getLogger(CodeLoaders.class.getName());
    private final BundleCache cache;
    private final ClassLoader parent;
    /** Guarded by this. */
    private final Map<List<ByteString>, Entry> loaders = new HashMap<>();

    private static final class Entry {
        final ShippedLoader loader;
        final List<String> bundles;
        int users;

        Entry(ShippedLoader loader, List<String> bundles) {
            this.loader = loader;
            this.bundles = bundles;
        }
    }

    CodeLoaders(BundleCache cache, ClassLoader parent) {
        this.cache = cache;
        this.parent = parent;
    }

    /** A use of the loader for {@code code}'s bundles; release it once. */
    interface Lease {
        ClassLoader loader();

        void release();
    }

    /** The worker's own loader, when nothing is shipped. */
    Lease plain() {
        return new Lease() {
            @Override
            public ClassLoader loader() {
                return parent;
            }

            @Override
            public void release() {}
        };
    }

    /** Fetches what is missing (outside any lock) and takes a use of the shared loader. */
    Lease acquire(CodeRef code) {
        if (code.getBundlesCount() == 0) {
            return plain();
        }
        List<ByteString> key = code.getBundlesList().stream().map(Bundle::getSha256).toList();
        synchronized (this) {
            Entry e = loaders.get(key);
            if (e != null) {
                e.users++;
                return lease(key, e);
            }
        }
        List<URL> urls = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Bundle b : code.getBundlesList()) {
            Path p = cache.get(b);
            names.add(ShippedCode.hex(b.getSha256()));
            try {
                urls.add(p.toUri().toURL());
            } catch (MalformedURLException ex) {
                throw new IllegalStateException(ex);
            }
        }
        synchronized (this) {
            Entry e = loaders.get(key);
            if (e == null) {
                String name = "shipped-" + names.get(0).substring(0, 12) + (names.size() > 1 ? "+" + (names.size() - 1) : "");
                e = new Entry(new ShippedLoader(name, urls.toArray(URL[]::new), parent), names);
                names.forEach(cache::pin);
                loaders.put(key, e);
            }
            e.users++;
            return lease(key, e);
        }
    }

    private Lease lease(List<ByteString> key, Entry e) {
        return new Lease() {
            private boolean released;

            @Override
            public ClassLoader loader() {
                return e.loader;
            }

            @Override
            public void release() {
                synchronized (CodeLoaders.this) {
                    if (released) {
                        return;
                    }
                    released = true;
                    if (--e.users > 0) {
                        return;
                    }
                    loaders.remove(key, e);
                }
                try {
                    e.loader.close();
                } catch (IOException ex) {
                    LOG.log(System.Logger.Level.WARNING, "cannot close loader " + e.loader.getName() + ": " + ex);
                }
                e.bundles.forEach(cache::unpin);
            }
        };
    }

    Path cacheDirectory() {
        return cache.directory();
    }

    /** Loaders alive (tests, status). */
    synchronized int size() {
        return loaders.size();
    }
}
