package io.cohort.coordinator.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.Digests;
import io.cohort.coordinator.JournalMode;
import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The RocksDB journal: what is committed comes back, what is forgotten does not, a damaged end is survived. */
class JournalTest {
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

    private Path newestLog() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".log"))
                    .max(Comparator.comparing(p -> p.getFileName().toString())).orElseThrow();
        }
    }
}
