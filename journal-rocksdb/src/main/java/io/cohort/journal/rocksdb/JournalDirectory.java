package io.cohort.journal.rocksdb;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The journal's directory, which holds session ids, task code and arguments: made owner-only
 * (0700) when created, refused when it belongs to another user or is open to group or others,
 * and its files kept owner-only (0600). On file systems without POSIX permissions, nothing is
 * checked.
 */
final class JournalDirectory {
    private static final System.Logger LOG = System.getLogger(JournalDirectory.class.getName());
    private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");

    private JournalDirectory() {}

    /** Creates {@code dir} owner-only if it is missing, else checks that it is. */
    static void prepare(Path dir) throws IOException {
        if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            Files.createDirectories(dir);
            return;
        }
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            Path parent = dir.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // checked below like any existing directory
            }
            // The umask may have taken bits the attribute asked for, never added any; set it exactly.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class);
        if (!a.isDirectory()) {
            throw new IOException("the journal directory " + dir + " is not a directory: give --journal-dir a directory"
                    + " of your own");
        }
        String me = System.getProperty("user.name");
        long myUid = new com.sun.security.auth.module.UnixSystem().getUid();
        Object owner = Files.getAttribute(dir, "unix:uid");
        if (owner instanceof Integer uid && uid.longValue() != myUid) {
            throw new IOException("the journal directory " + dir + " belongs to " + a.owner().getName() + ", not to "
                    + me + " who runs the coordinator: another user could read or change the tasks it holds. Give"
                    + " --journal-dir a directory of your own (it is created owner-only if missing)");
        }
        Set<PosixFilePermission> open = a.permissions();
        open.retainAll(Set.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_EXECUTE));
        if (!open.isEmpty()) {
            throw new IOException("the journal directory " + dir + " is open to other users ("
                    + PosixFilePermissions.toString(a.permissions()) + "), and it holds session ids, task code and"
                    + " arguments. Make it owner-only (chmod 700 " + dir + ") or give --journal-dir a new directory");
        }
    }

    /** Makes every file in {@code dir} owner-only (RocksDB creates them with the process's umask). */
    static void restrictFiles(Path dir) {
        if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            return;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                try {
                    if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)
                            && !Files.getPosixFilePermissions(f, LinkOption.NOFOLLOW_LINKS).equals(FILE_MODE)) {
                        Files.setPosixFilePermissions(f, FILE_MODE);
                    }
                } catch (java.nio.file.NoSuchFileException gone) {
                    // deleted by RocksDB meanwhile
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot make the journal's files in " + dir + " owner-only", e);
        }
    }
}
