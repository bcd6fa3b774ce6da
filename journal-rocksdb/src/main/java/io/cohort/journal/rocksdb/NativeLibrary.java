package io.cohort.journal.rocksdb;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.rocksdb.NativeLibraryLoader;
import org.rocksdb.RocksDB;

/**
 * Loads RocksDB's JNI library from the journal's own directory. By default RocksDB copies it to
 * {@code java.io.tmpdir} and asks the JVM to delete it on exit, which a daemon stopped by a
 * signal (it halts) never does: each run left 17 MB in /tmp. Here it goes to {@code DIR/native/},
 * owner-only like the rest of the journal, replaced at each start.
 */
final class NativeLibrary {
    /** Guarded by the class: the JVM loads the library once. */
    private static boolean loaded;

    private NativeLibrary() {}

    static synchronized void load(Path journalDir) throws IOException {
        if (loaded) {
            return;
        }
        Path dir = journalDir.resolve("native");
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        // Extracts into dir (after trying java.library.path); RocksDB's own loadLibrary, which the
        // classes' initializers call, then finds it loaded and extracts nothing.
        NativeLibraryLoader.getInstance().loadLibrary(dir.toString());
        RocksDB.loadLibrary();
        loaded = true;
    }
}
