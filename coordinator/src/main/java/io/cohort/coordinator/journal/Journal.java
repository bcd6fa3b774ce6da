package io.cohort.coordinator.journal;

import com.google.protobuf.ByteString;
import io.cohort.coordinator.JournalMode;
import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.Consumer;

/**
 * The coordinator's journal: open sessions, their functions, accepted tasks not yet answered
 * and results held for sessions without a stream. The engine lives in its own module
 * ({@code cohort-journal-rocksdb}, found through {@link JournalEngine}), so that a coordinator
 * without a journal, such as {@code Cohort.local}'s, needs no native library.
 *
 * <p>Not thread-safe: one thread adds and commits; {@link #readArgument} may be called from any.
 */
public interface Journal extends AutoCloseable {
    /**
     * A recovered task's argument at least this large stays on disk until a worker fetches it;
     * smaller ones are loaded (a payload fetch costs more than the bytes it saves).
     */
    int STORED_ARGUMENT_FROM = 64 * 1024;

    /** What one session left in the journal. */
    record RecoveredSession(String id, String clientName, List<FunctionDef> functions,
                            List<Event.TaskSubmitted> tasks, List<TaskResult> held) {}

    /**
     * Opens (or creates) the journal in {@code dir} with the engine on the class path.
     *
     * @throws IOException if no engine is present, or the directory cannot be used, is open to
     *     other users, or is held by another coordinator
     */
    static Journal open(Path dir, JournalMode mode) throws IOException {
        if (mode == JournalMode.OFF) {
            throw new IllegalArgumentException("no journal to open in mode OFF");
        }
        for (JournalEngine engine : ServiceLoader.load(JournalEngine.class, Journal.class.getClassLoader())) {
            return engine.open(dir, mode);
        }
        throw new IOException("the journal (--journal " + mode.name().toLowerCase(java.util.Locale.ROOT)
                + ") needs its engine, io.cohort:cohort-journal-rocksdb, on the class path (the release's lib/"
                + " has it); without it, run with --journal off");
    }

    /** Everything the journal holds, session by session (tests; {@link #recover(Consumer)} streams). */
    default List<RecoveredSession> recover() {
        List<RecoveredSession> out = new ArrayList<>();
        recover(out::add);
        return out;
    }

    /**
     * Hands over what the journal holds one session at a time; a task's argument of {@link
     * #STORED_ARGUMENT_FROM} bytes or more may be left on disk, to be read by {@link
     * #readArgument}. Call once, before any {@link #add}.
     */
    void recover(Consumer<RecoveredSession> each);

    /**
     * A recovered argument left on disk, by the payload id its task was given; null when it
     * names none (not one of ours, or its task has ended). Thread-safe.
     */
    ByteString readArgument(String payloadId) throws IOException;

    /** Whether {@code payloadId} names an argument this journal left on disk and still holds. */
    boolean storesArgument(String payloadId);

    /** Arguments left on disk whose tasks have not ended (for tests). */
    int storedArguments();

    /** Adds a record to the batch that {@link #commit} writes. */
    void add(Command.ToJournal record);

    /** Adds the removal of everything a session left. */
    void forgetSession(String sessionId);

    /** Writes what was added since the last commit as one group; a no-op when nothing was. */
    void commit();

    @Override
    void close();
}
