package io.cohort.journal.rocksdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.Digests;
import io.cohort.coordinator.JournalMode;
import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.coordinator.journal.Journal;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The RocksDB journal: what is committed comes back, what is forgotten does not, a damaged end is survived. */
class RocksJournalTest {
    @TempDir
    Path dir;

    private static final TaskSpec SPEC = TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("body")).build();

    private static Command.JournalTask task(String session, long id) {
        return new Command.JournalTask(session, id, SPEC, TaskPolicy.newBuilder().setName("t" + id).build());
    }

    private static List<Long> taskIds(Journal.RecoveredSession s) {
        return s.tasks().stream().map(Event.TaskSubmitted::taskId).toList();
    }

    @Test
    void committedRecordsComeBackSessionBySessionInTaskOrder() throws IOException {
        ByteString body = ByteString.copyFromUtf8("fn");
        FunctionDef f = FunctionDef.newBuilder().setBody(body).setDigest(Digests.sha256(body)).build();
        try (Journal j = Journal.open(dir, JournalMode.ALWAYS)) {
            j.add(new Command.JournalSession("s-a", "alpha"));
            j.add(new Command.JournalFunction("s-a", f));
            for (long id = 300; id >= 1; id--) {
                j.add(task("s-a", id));
            }
            j.add(new Command.JournalSession("s-b", "beta"));
            j.add(task("s-b", 7));
            j.commit();
            j.add(new Command.JournalForget("s-a", 2));
            j.add(new Command.JournalResult("s-a", TaskResult.newBuilder().setTaskId(3).setStatus(TaskStatus.SUCCEEDED).build()));
            j.add(new Command.JournalSession("s-gone", "gone"));
            j.add(task("s-gone", 1));
            j.forgetSession("s-gone");
            j.commit();
        }
        try (Journal j = Journal.open(dir, JournalMode.BATCH)) {
            List<Journal.RecoveredSession> sessions = j.recover();
            assertEquals(List.of("s-a", "s-b"), sessions.stream().map(Journal.RecoveredSession::id).toList());
            Journal.RecoveredSession a = sessions.get(0);
            assertEquals("alpha", a.clientName());
            assertEquals(List.of(f), a.functions());
            List<Long> ids = taskIds(a);
            assertEquals(298, ids.size());
            assertEquals(1L, ids.get(0));
            assertEquals(4L, ids.get(1));
            assertEquals(300L, ids.get(ids.size() - 1));
            assertEquals("t1", a.tasks().get(0).policy().getName());
            assertEquals(List.of(3L), a.held().stream().map(TaskResult::getTaskId).toList());
            assertEquals(List.of(7L), taskIds(sessions.get(1)));
        }
    }

    @Test
    void aDroppedFunctionDoesNotComeBack() throws IOException {
        ByteString body = ByteString.copyFromUtf8("dropped");
        FunctionDef f = FunctionDef.newBuilder().setBody(body).setDigest(Digests.sha256(body)).build();
        ByteString keptBody = ByteString.copyFromUtf8("kept");
        FunctionDef kept = FunctionDef.newBuilder().setBody(keptBody).setDigest(Digests.sha256(keptBody)).build();
        try (Journal j = Journal.open(dir, JournalMode.ALWAYS)) {
            j.add(new Command.JournalSession("s-a", "alpha"));
            j.add(new Command.JournalFunction("s-a", f));
            j.add(new Command.JournalFunction("s-a", kept));
            j.commit();
            j.add(new Command.JournalForgetFunction("s-a", f.getDigest()));
            j.commit();
        }
        try (Journal j = Journal.open(dir, JournalMode.BATCH)) {
            assertEquals(List.of(kept), j.recover().get(0).functions());
        }
    }

    @Test
    void aLogCutShortOrWithGarbageAtItsEndRecoversUpToItsLastWholeRecord() throws IOException {
        try (Journal j = Journal.open(dir, JournalMode.BATCH)) {
            j.add(new Command.JournalSession("s-a", "alpha"));
            j.add(task("s-a", 1));
            j.commit();
            j.add(task("s-a", 2));
            j.commit();
        }
        Path log = newestLog();
        long whole = Files.size(log);
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "rw")) {
            f.setLength(whole - 5);   // the last write cut short
            f.seek(whole - 5);
            f.write(new byte[] {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef, 0x01, 0x02, 0x03});   // and garbage after it
        }
        try (Journal j = Journal.open(dir, JournalMode.BATCH)) {
            List<Journal.RecoveredSession> sessions = j.recover();
            assertEquals(1, sessions.size());
            assertEquals(List.of(1L), taskIds(sessions.get(0)), "the whole first write, not the broken second");
            j.add(task("s-a", 3));   // and it takes new records
            j.commit();
        }
        try (Journal j = Journal.open(dir, JournalMode.BATCH)) {
            assertEquals(List.of(1L, 3L), taskIds(j.recover().get(0)));
        }
    }

    @Test
    void aDirectoryInUseByAnotherCoordinatorIsRefusedWithAClearError() throws IOException {
        try (Journal j = Journal.open(dir, JournalMode.BATCH)) {
            IOException e = assertThrows(IOException.class, () -> Journal.open(dir, JournalMode.BATCH));
            assertTrue(e.getMessage().contains("another coordinator"), e.getMessage());
        }
    }

    @Test
    void aRecoveredLargeArgumentStaysOnDiskUntilFetchedAndOutlivesCompaction() throws IOException {
        byte[] big = new byte[Journal.STORED_ARGUMENT_FROM + 1];
        new Random(7).nextBytes(big);
        ByteString small = ByteString.copyFromUtf8("small");
        try (Journal j = Journal.open(dir, JournalMode.ALWAYS)) {
            j.add(new Command.JournalSession("s-a", "alpha"));
            j.add(new Command.JournalTask("s-a", 1, SPEC.toBuilder().setArgument(ByteString.copyFrom(big)).build(),
                    TaskPolicy.newBuilder().setName("big").build()));
            j.add(new Command.JournalTask("s-a", 2, SPEC.toBuilder().setArgument(small).build(),
                    TaskPolicy.getDefaultInstance()));
            j.add(new Command.JournalTask("s-a", 3, SPEC.toBuilder().setArgument(ByteString.copyFrom(big))
                    .setIsolation(io.cohort.proto.v1.Isolation.PROCESS).build(), TaskPolicy.getDefaultInstance()));
            j.commit();
        }
        try (Journal j = Journal.open(dir, JournalMode.BATCH)) {
            List<Event.TaskSubmitted> tasks = j.recover().get(0).tasks();
            TaskSpec large = tasks.get(0).spec();
            assertFalse(large.hasArgument(), "the large argument is not in memory");
            assertEquals(big.length, large.getArgumentPayload().getSize());
            assertEquals("big", tasks.get(0).policy().getName());
            assertEquals(small, tasks.get(1).spec().getArgument(), "a small argument is loaded");
            assertEquals(big.length, tasks.get(2).spec().getArgument().size(),
                    "an isolated task's argument is loaded: child JVMs cannot fetch payloads");
            String id = large.getArgumentPayload().getId();
            assertTrue(j.storesArgument(id));
            assertNull(j.readArgument("journal-made-up"));

            // Compaction rewrites every file: the task's record, and so its argument, stays.
            j.add(new Command.JournalForget("s-a", 2));
            j.commit();
            compact(j);
            assertEquals(ByteString.copyFrom(big), j.readArgument(id));

            // Once the task is answered, its argument goes with its record.
            j.add(new Command.JournalResult("s-a", TaskResult.newBuilder().setTaskId(1).setStatus(TaskStatus.SUCCEEDED).build()));
            j.commit();
            assertNull(j.readArgument(id));
            assertEquals(0, j.storedArguments());
        }
    }

    private static void compact(Journal j) {
        try {
            java.lang.reflect.Field f = RocksJournal.class.getDeclaredField("db");
            f.setAccessible(true);
            org.rocksdb.RocksDB db = (org.rocksdb.RocksDB) f.get(j);
            db.flush(new org.rocksdb.FlushOptions().setWaitForFlush(true));
            db.compactRange();
        } catch (ReflectiveOperationException | org.rocksdb.RocksDBException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void theJournalDirectoryIsCreatedOwnerOnlyAndSoAreItsFiles() throws IOException {
        Path journal = dir.resolve("new").resolve("journal");
        try (Journal j = Journal.open(journal, JournalMode.BATCH)) {
            j.add(new Command.JournalSession("s-a", "alpha"));
            j.add(task("s-a", 1));
            j.commit();
            compact(j);   // new table files too
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(journal)));
            try (Stream<Path> files = Files.list(journal)) {
                List<Path> all = files.filter(Files::isRegularFile).toList();
                assertTrue(all.stream().anyMatch(p -> p.toString().endsWith(".sst")), all.toString());
                for (Path p : all) {
                    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
                }
            }
        }
    }

    @Test
    void aJournalDirectoryOpenToOthersIsRefusedSayingWhatToDo() throws IOException {
        Path journal = Files.createDirectory(dir.resolve("journal"));
        Files.setPosixFilePermissions(journal, PosixFilePermissions.fromString("rwxr-xr-x"));
        IOException e = assertThrows(IOException.class, () -> Journal.open(journal, JournalMode.BATCH));
        assertTrue(e.getMessage().contains(journal.toString()) && e.getMessage().contains("chmod 700"), e.getMessage());
        Files.setPosixFilePermissions(journal, PosixFilePermissions.fromString("rwx------"));
        Journal.open(journal, JournalMode.BATCH).close();
    }

    @Test
    void aJournalDirectoryOfAnotherUserIsRefused() throws IOException {
        Path other = Files.createDirectory(dir.resolve("theirs"));
        long me = new com.sun.security.auth.module.UnixSystem().getUid();
        if (me == 0) {
            Files.setAttribute(other, "unix:uid", 65534);   // root gives it to nobody
        } else {
            other = Path.of("/").toRealPath();   // root's, and rwxr-xr-x
            org.junit.jupiter.api.Assumptions.assumeTrue(((Integer) Files.getAttribute(other, "unix:uid")) != me);
        }
        Path theirs = other;
        IOException e = assertThrows(IOException.class, () -> Journal.open(theirs, JournalMode.BATCH));
        assertTrue(e.getMessage().contains(theirs + " belongs to") && e.getMessage().contains("--journal-dir"),
                e.getMessage());
    }

    private Path newestLog() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".log"))
                    .max(Comparator.comparing(p -> p.getFileName().toString())).orElseThrow();
        }
    }
}
