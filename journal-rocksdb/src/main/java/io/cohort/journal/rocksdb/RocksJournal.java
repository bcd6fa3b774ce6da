package io.cohort.journal.rocksdb;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.cohort.coordinator.JournalMode;
import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.coordinator.journal.Journal;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.JournalSession;
import io.cohort.proto.v1.Isolation;
import io.cohort.proto.v1.JournalTask;
import io.cohort.proto.v1.PayloadRef;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.rocksdb.AbstractEventListener;
import org.rocksdb.CompactionJobInfo;
import org.rocksdb.CompressionType;
import org.rocksdb.FlushJobInfo;
import org.rocksdb.InfoLogLevel;
import org.rocksdb.MemTableInfo;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Status;
import org.rocksdb.WALRecoveryMode;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The coordinator's journal in RocksDB: open sessions, their functions, accepted tasks not yet answered
 * and results held for sessions without a stream, in a RocksDB database on local disk. RocksDB
 * brings the write-ahead log, group writes, recovery of a log cut short and compaction, which
 * keeps the files as small as what is live.
 *
 * <p>The scheduler thread adds a batch's records and {@link #commit commits} them as one
 * write. {@link JournalMode#BATCH} hands each write to the operating system at once, which survives
 * the coordinator being killed, and syncs it to disk within a second; {@link JournalMode#ALWAYS} syncs
 * each write before the coordinator answers anyone.
 *
 * <p>Keys: session id, a zero byte, a record type, then the task id (8 bytes, big-endian, so
 * tasks come back in order) or a function's digest.
 *
 * <p>Recovery reads one record at a time and keeps a recovered task's large argument on disk:
 * the task is queued with an {@code argument_payload} whose id this journal knows, and the
 * worker it goes to fetches it through the PayloadService, which reads it here ({@link
 * #readArgument}). The bytes stay in the task's own record, which only the task's end removes,
 * so compaction never drops what a queued task refers to.
 *
 * <p>The directory is the coordinator user's alone ({@link JournalDirectory}).
 *
 * <p>Not thread-safe: one thread adds and commits; {@link #readArgument} may be called from any.
 */
public final class RocksJournal implements Journal {
    private static final System.Logger LOG = System.getLogger(RocksJournal.class.getName());
    private static final byte SESSION = 'S';
    private static final byte FUNCTION = 'F';
    private static final byte TASK = 'T';
    private static final byte RESULT = 'R';
    private static final long SYNC_EVERY_MS = 1_000;
    /** Payload ids of arguments left on disk start so (the rest is random). */
    private static final String STORED_ID_PREFIX = "journal-";

    private final Path dir;
    private final Options options;
    private final RocksDB db;
    private final WriteOptions writeOptions;
    private final ScheduledExecutorService syncer;
    private final AbstractEventListener fileModes;
    private WriteBatch batch = new WriteBatch();
    /** Recovered arguments left on disk: payload id to the key of the task record that holds it. */
    private final Map<String, byte[]> stored = new ConcurrentHashMap<>();
    /** The same, by that key (as a string of its bytes), so that the task's end forgets its id. */
    private final Map<String, String> storedByKey = new ConcurrentHashMap<>();
    /** Readers of stored arguments hold it shared; close holds it exclusive (RocksDB must not be read once closed). */
    private final ReentrantReadWriteLock closing = new ReentrantReadWriteLock();
    private boolean closed;

    private RocksJournal(Path dir, Options options, RocksDB db, JournalMode mode, AbstractEventListener fileModes) {
        this.dir = dir;
        this.options = options;
        this.db = db;
        this.fileModes = fileModes;
        this.writeOptions = new WriteOptions().setSync(mode == JournalMode.ALWAYS);
        if (mode == JournalMode.BATCH) {
            syncer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "cohort-journal-sync");
                t.setDaemon(true);
                return t;
            });
            syncer.scheduleWithFixedDelay(this::sync, SYNC_EVERY_MS, SYNC_EVERY_MS, TimeUnit.MILLISECONDS);
        } else {
            syncer = null;
        }
    }

    /**
     * Opens (or creates) the journal in {@code dir}. A log cut short or damaged at its end is
     * recovered up to its last whole record, with a warning.
     *
     * @throws IOException if the directory cannot be used, is open to other users, or is held
     *     by another coordinator
     */
    static RocksJournal open(Path dir, JournalMode mode) throws IOException {
        if (mode == JournalMode.OFF) {
            throw new IllegalArgumentException("no journal to open in mode OFF");
        }
        JournalDirectory.prepare(dir);
        NativeLibrary.load(dir);
        // RocksDB makes its files with the process's umask: each new one is made owner-only as it comes.
        AbstractEventListener fileModes = new AbstractEventListener(AbstractEventListener.EnabledEventCallback.ON_FLUSH_COMPLETED,
                AbstractEventListener.EnabledEventCallback.ON_COMPACTION_COMPLETED,
                AbstractEventListener.EnabledEventCallback.ON_MEMTABLE_SEALED) {
            @Override
            public void onFlushCompleted(RocksDB db, FlushJobInfo info) {
                JournalDirectory.restrictFiles(dir);
            }

            @Override
            public void onCompactionCompleted(RocksDB db, CompactionJobInfo info) {
                JournalDirectory.restrictFiles(dir);
            }

            @Override
            public void onMemTableSealed(MemTableInfo info) {
                JournalDirectory.restrictFiles(dir);
            }
        };
        Options options = new Options().setCreateIfMissing(true).setListeners(List.of(fileModes))
                .setInfoLogLevel(InfoLogLevel.WARN_LEVEL).setKeepLogFileNum(2)
                .setMaxTotalWalSize(64L << 20).setWriteBufferSize(16L << 20)
                .setCompressionType(CompressionType.NO_COMPRESSION)
                .setWalRecoveryMode(WALRecoveryMode.AbsoluteConsistency);
        RocksDB db;
        try {
            db = RocksDB.open(options, dir.toString());
        } catch (RocksDBException strict) {
            if (strict.getStatus() == null || strict.getStatus().getCode() != Status.Code.Corruption) {
                options.close();
                fileModes.close();
                throw new IOException("cannot open the journal in " + dir + ": " + strict.getMessage()
                        + (String.valueOf(strict.getMessage()).contains("lock") ? " (is another coordinator using it?"
                        + " Give each its own --journal-dir)" : ""), strict);
            }
            LOG.log(System.Logger.Level.WARNING, "the journal in {0} is damaged at its end ({1}); recovering up to"
                    + " its last whole record", dir, strict.getMessage());
            options.setWalRecoveryMode(WALRecoveryMode.PointInTimeRecovery);
            try {
                db = RocksDB.open(options, dir.toString());
            } catch (RocksDBException e) {
                options.close();
                fileModes.close();
                throw new IOException("cannot recover the journal in " + dir + ": " + e.getMessage(), e);
            }
        }
        JournalDirectory.restrictFiles(dir);
        return new RocksJournal(dir, options, db, mode, fileModes);
    }

    /**
     * Hands over what the journal holds one session at a time, reading one record at a time; a
     * task's argument of {@link Journal#STORED_ARGUMENT_FROM} bytes or more is left on disk (see the
     * class comment). Call once, before any {@link #add}.
     */
    @Override
    public void recover(Consumer<RecoveredSession> each) {
        int damaged = 0;
        try (RocksIterator it = db.newIterator()) {
            String current = null;
            JournalSession session = null;
            List<FunctionDef> functions = new ArrayList<>();
            List<Event.TaskSubmitted> tasks = new ArrayList<>();
            List<TaskResult> held = new ArrayList<>();
            for (it.seekToFirst(); ; it.next()) {
                byte[] key = it.isValid() ? it.key() : null;
                int zero = key == null ? -1 : indexOfZero(key);
                String id = zero <= 0 ? null : new String(key, 0, zero, StandardCharsets.UTF_8);
                if (current != null && !current.equals(id)) {
                    if (session != null) {
                        each.accept(new RecoveredSession(current, session.getClientName(), functions, tasks, held));
                    } else {
                        damaged += functions.size() + tasks.size() + held.size();
                    }
                    session = null;
                    functions = new ArrayList<>();
                    tasks = new ArrayList<>();
                    held = new ArrayList<>();
                }
                if (key == null) {
                    break;
                }
                current = id;
                if (id == null || zero + 1 >= key.length) {
                    damaged++;
                    continue;
                }
                try {
                    byte[] value = it.value();
                    switch (key[zero + 1]) {
                        case SESSION -> session = JournalSession.parseFrom(value);
                        case FUNCTION -> functions.add(FunctionDef.parseFrom(value));
                        case TASK -> tasks.add(task(key, taskId(key, zero), parseAliasing(value)));
                        case RESULT -> held.add(TaskResult.parseFrom(value));
                        default -> damaged++;
                    }
                } catch (InvalidProtocolBufferException | RuntimeException e) {
                    damaged++;
                }
            }
        }
        if (damaged > 0) {
            LOG.log(System.Logger.Level.WARNING, "{0} journal records in {1} could not be read and were skipped", damaged, dir);
        }
    }

    /** Parses a task record without copying its argument out of {@code value}. */
    private static JournalTask parseAliasing(byte[] value) throws InvalidProtocolBufferException {
        CodedInputStream in = CodedInputStream.newInstance(value);
        in.enableAliasing(true);
        try {
            return JournalTask.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw e;
        } catch (IOException e) {
            throw new InvalidProtocolBufferException(e);
        }
    }

    /**
     * A recovered task to queue: a large argument becomes an {@code argument_payload} read from
     * {@code key} when fetched. Child JVMs cannot fetch payloads yet, so the arguments of
     * isolated and process tasks stay in the spec.
     */
    private Event.TaskSubmitted task(byte[] key, long taskId, JournalTask t) throws InvalidProtocolBufferException {
        TaskSpec spec = t.getSpec();
        if (!spec.hasArgument() || spec.getArgument().size() < STORED_ARGUMENT_FROM
                || spec.getIsolation() == Isolation.PROCESS || spec.hasProcess()) {
            return new Event.TaskSubmitted(0, taskId, spec, t.getPolicy());
        }
        String id = STORED_ID_PREFIX + UUID.randomUUID();
        stored.put(id, key);
        storedByKey.put(keyString(key), id);
        // Parsed again from a copy: the aliased parse's other fields would keep the whole record alive.
        JournalTask small = JournalTask.parseFrom(t.toBuilder().setSpec(spec.toBuilder().clearArgument()
                .setArgumentPayload(PayloadRef.newBuilder().setId(id).setSize(spec.getArgument().size())))
                .build().toByteString());
        return new Event.TaskSubmitted(0, taskId, small.getSpec(), small.getPolicy());
    }

    /**
     * The argument of a recovered task that {@link #recover} left on disk, read now; null when
     * {@code payloadId} names none (not one of ours, or its task has ended). Thread-safe.
     *
     * @throws IOException if the journal cannot be read
     */
    @Override
    public ByteString readArgument(String payloadId) throws IOException {
        byte[] key = stored.get(payloadId);
        if (key == null) {
            return null;
        }
        closing.readLock().lock();
        try {
            if (closed) {
                return null;
            }
            byte[] value = db.get(key);
            return value == null ? null : parseAliasing(value).getSpec().getArgument();
        } catch (RocksDBException e) {
            throw new IOException("cannot read the journal in " + dir + ": " + e.getMessage(), e);
        } finally {
            closing.readLock().unlock();
        }
    }

    /**
     * Whether {@code payloadId} is the id of an argument left on disk by {@link #recover}, held
     * still or gone with its task (then {@link #readArgument} says so at once). Thread-safe.
     */
    @Override
    public boolean storesArgument(String payloadId) {
        return payloadId.startsWith(STORED_ID_PREFIX);
    }

    /** Arguments left on disk whose tasks have not ended (for tests). */
    @Override
    public int storedArguments() {
        return stored.size();
    }

    private void forgetStored(byte[] taskKey) {
        String id = storedByKey.remove(keyString(taskKey));
        if (id != null) {
            stored.remove(id);
        }
    }

    private static String keyString(byte[] key) {
        return new String(key, StandardCharsets.ISO_8859_1);
    }

    /** Adds a record to the batch that {@link #commit} writes. */
    @Override
    public void add(Command.ToJournal record) {
        byte[] session = record.sessionId().getBytes(StandardCharsets.UTF_8);
        try {
            if (record instanceof Command.JournalTask t) {
                batch.put(key(session, TASK, t.taskId()), JournalTask.newBuilder().setSpec(t.spec()).setPolicy(t.policy())
                        .build().toByteArray());
            } else if (record instanceof Command.JournalForget f) {
                forgetStored(key(session, TASK, f.taskId()));
                batch.delete(key(session, TASK, f.taskId()));
                batch.delete(key(session, RESULT, f.taskId()));
            } else if (record instanceof Command.JournalResult r) {
                forgetStored(key(session, TASK, r.result().getTaskId()));
                batch.delete(key(session, TASK, r.result().getTaskId()));
                batch.put(key(session, RESULT, r.result().getTaskId()), r.result().toByteArray());
            } else if (record instanceof Command.JournalForgetFunction f) {
                batch.delete(key(session, FUNCTION, f.digest().toByteArray()));
            } else if (record instanceof Command.JournalFunction f) {
                batch.put(key(session, FUNCTION, f.function().getDigest().toByteArray()), f.function().toByteArray());
            } else if (record instanceof Command.JournalSession s) {
                batch.put(key(session, SESSION, new byte[0]),
                        JournalSession.newBuilder().setClientName(s.clientName()).build().toByteArray());
            }
        } catch (RocksDBException e) {
            throw new IllegalStateException("journal batch: " + e.getMessage(), e);
        }
    }

    /** Adds the removal of everything a session left. */
    @Override
    public void forgetSession(String sessionId) {
        byte[] session = sessionId.getBytes(StandardCharsets.UTF_8);
        byte[] from = Arrays.copyOf(session, session.length + 1);
        byte[] to = from.clone();
        to[session.length] = 1;
        String prefix = keyString(from);
        for (Iterator<Map.Entry<String, String>> it = storedByKey.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, String> e = it.next();
            if (e.getKey().startsWith(prefix)) {
                stored.remove(e.getValue());
                it.remove();
            }
        }
        try {
            batch.deleteRange(from, to);
        } catch (RocksDBException e) {
            throw new IllegalStateException("journal batch: " + e.getMessage(), e);
        }
    }

    /** Writes what was added since the last commit as one group; a no-op when nothing was. */
    @Override
    public void commit() {
        if (batch.count() == 0) {
            return;
        }
        try {
            db.write(writeOptions, batch);
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot write the journal in " + dir + ": " + e.getMessage(), e);
        } finally {
            batch.clear();
        }
    }

    private void sync() {
        try {
            db.syncWal();
        } catch (RocksDBException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot sync the journal in " + dir, e);
        }
    }

    @Override
    public void close() {
        if (syncer != null) {
            syncer.shutdownNow();
            try {
                syncer.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        sync();
        closing.writeLock().lock();
        try {
            closed = true;
            batch.close();
            writeOptions.close();
            db.close();
            options.close();
            fileModes.close();
        } finally {
            closing.writeLock().unlock();
        }
    }

    private static byte[] key(byte[] session, byte type, long taskId) {
        return key(session, type, ByteBuffer.allocate(8).putLong(taskId).array());
    }

    private static byte[] key(byte[] session, byte type, byte[] suffix) {
        byte[] k = new byte[session.length + 2 + suffix.length];
        System.arraycopy(session, 0, k, 0, session.length);
        k[session.length + 1] = type;
        System.arraycopy(suffix, 0, k, session.length + 2, suffix.length);
        return k;
    }

    private static long taskId(byte[] key, int zero) {
        if (key.length != zero + 2 + 8) {
            throw new IllegalArgumentException("bad task key");
        }
        return ByteBuffer.wrap(key, zero + 2, 8).getLong();
    }

    private static int indexOfZero(byte[] key) {
        for (int i = 0; i < key.length; i++) {
            if (key[i] == 0) {
                return i;
            }
        }
        return -1;
    }
}
