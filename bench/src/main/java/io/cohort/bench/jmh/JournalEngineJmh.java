package io.cohort.bench.jmh;

import io.cohort.coordinator.journal.Journal;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The coordinator journal's candidate engines: one invocation appends one batch of
 * {@link #RECORDS} accepted-task records of {@link #RECORD_BYTES} bytes each (an 8-byte
 * sequence number before each), as one write: a RocksDB {@code WriteBatch} (its WAL), or one
 * Raft log entry of a single-node Apache Ratis group (server in this JVM on 127.0.0.1 over
 * gRPC, a client sending one message per batch, a state machine that only acknowledges).
 * Score: batches per second from one thread, so each batch waits for the previous one to be
 * acknowledged (latency-bound, as a journal that acknowledges before it answers is).
 *
 * <p>Engines: {@code rocksdb_nosync} (WAL written, not fsynced), {@code rocksdb_sync}
 * ({@code WriteOptions.sync}: fsync per batch); {@code ratis_default} (Ratis's log settings
 * as they come: the leader flushes its log before committing), {@code ratis_unsafe_flush}
 * ({@code raft.server.log.unsafe-flush.enabled}: commit without waiting for the flush),
 * {@code ratis_async_flush} ({@code raft.server.log.async-flush.enabled}: flush on another
 * thread). Storage is a fresh directory under {@code java.io.tmpdir} per trial.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class JournalEngineJmh {
    static final int RECORDS = 64;
    static final int RECORD_BYTES = 200;
    private static final int ENTRY_BYTES = Long.BYTES + RECORD_BYTES;

    @Param({"rocksdb_nosync", "rocksdb_sync", "ratis_default", "ratis_unsafe_flush", "ratis_async_flush"})
    public String engine;

    private final byte[][] records = new byte[RECORDS][];
    private Path dir;
    private Journal journal;
    private long sequence;

    /** Appends one batch as one durable-as-configured write. */
    interface Journal extends AutoCloseable {
        void append(long firstSequence, byte[][] records) throws Exception;

        @Override
        void close() throws Exception;
    }

    @Setup(Level.Trial)
    public void open() throws Exception {
        Random random = new Random(42);
        for (int i = 0; i < RECORDS; i++) {
            records[i] = new byte[RECORD_BYTES];
            random.nextBytes(records[i]);
        }
        dir = Files.createTempDirectory("cohort-journal-" + engine + "-");
        journal = switch (engine) {
            case "rocksdb_nosync" -> new Rocks(dir, false);
            case "rocksdb_sync" -> new Rocks(dir, true);
            case "ratis_default" -> new Ratis(dir, false, false);
            case "ratis_unsafe_flush" -> new Ratis(dir, true, false);
            case "ratis_async_flush" -> new Ratis(dir, false, true);
            default -> throw new IllegalArgumentException("no engine " + engine);
        };
    }

    @TearDown(Level.Trial)
    public void close() throws Exception {
        journal.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public void appendBatch() throws Exception {
        journal.append(sequence, records);
        sequence += RECORDS;
    }

    /** RocksDB: one WriteBatch of RECORDS puts (key: the sequence number) per batch. */
    static final class Rocks implements Journal {
        private final Options options;
        private final RocksDB db;
        private final WriteOptions write;

        Rocks(Path dir, boolean sync) throws RocksDBException {
            RocksDB.loadLibrary();
            options = new Options().setCreateIfMissing(true);
            db = RocksDB.open(options, dir.toString());
            write = new WriteOptions().setSync(sync);
        }

        @Override
        public void append(long firstSequence, byte[][] records) throws RocksDBException {
            try (WriteBatch batch = new WriteBatch()) {
                for (int i = 0; i < records.length; i++) {
                    batch.put(ByteBuffer.allocate(Long.BYTES).putLong(firstSequence + i).array(), records[i]);
                }
                db.write(write, batch);
            }
        }

        /** The record stored under a sequence number, or null. */
        byte[] get(long sequence) throws RocksDBException {
            return db.get(ByteBuffer.allocate(Long.BYTES).putLong(sequence).array());
        }

        @Override
        public void close() {
            write.close();
            db.close();
            options.close();
        }
    }

    /** Ratis: a single-node group in this JVM; one client message (one log entry) per batch. */
    static final class Ratis implements Journal {
        private final RaftServer server;
        private final RaftClient client;
        private final Acknowledging stateMachine = new Acknowledging();
        private final byte[] buffer = new byte[RECORDS * ENTRY_BYTES];

        Ratis(Path dir, boolean unsafeFlush, boolean asyncFlush) throws IOException, InterruptedException {
            int port = freePort();
            RaftPeerId id = RaftPeerId.valueOf("journal");
            RaftPeer peer = RaftPeer.newBuilder().setId(id).setAddress("127.0.0.1:" + port).build();
            RaftGroup group = RaftGroup.valueOf(RaftGroupId.randomId(), peer);
            RaftProperties properties = new RaftProperties();
            RaftServerConfigKeys.setStorageDir(properties, List.of(dir.toFile()));
            GrpcConfigKeys.Server.setHost(properties, "127.0.0.1");
            GrpcConfigKeys.Server.setPort(properties, port);
            RaftServerConfigKeys.Log.setUnsafeFlushEnabled(properties, unsafeFlush);
            RaftServerConfigKeys.Log.setAsyncFlushEnabled(properties, asyncFlush);
            server = RaftServer.newBuilder().setServerId(id).setGroup(group).setProperties(properties)
                    .setStateMachine(stateMachine).setOption(RaftStorage.StartupOption.FORMAT).build();
            server.start();
            client = RaftClient.newBuilder().setProperties(properties).setRaftGroup(group).build();
            awaitLeader(group);
        }

        /** A single peer elects itself after its election timeout; until then a send is retried. */
        private void awaitLeader(RaftGroup group) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!server.getDivision(group.getGroupId()).getInfo().isLeader()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the single-node Ratis group elected no leader in 30 s");
                }
                Thread.sleep(20);
            }
        }

        @Override
        public void append(long firstSequence, byte[][] records) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(buffer);
            for (int i = 0; i < records.length; i++) {
                b.putLong(firstSequence + i).put(records[i]);
            }
            RaftClientReply reply = client.io().send(Message.valueOf(ByteString.copyFrom(buffer)));
            if (!reply.isSuccess()) {
                throw new IllegalStateException("Ratis refused the batch: " + reply);
            }
        }

        /** Log entries the state machine acknowledged (Ratis's own metadata entries aside). */
        long applied() {
            return stateMachine.applied.get();
        }

        @Override
        public void close() throws IOException {
            client.close();
            server.close();
        }

        private static int freePort() throws IOException {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            }
        }
    }

    /** Applies nothing: acknowledges each committed entry with an empty message. */
    static final class Acknowledging extends BaseStateMachine {
        final AtomicLong applied = new AtomicLong();

        @Override
        public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
            applied.incrementAndGet();
            LogEntryProto entry = trx.getLogEntry();
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
            return CompletableFuture.completedFuture(Message.EMPTY);
        }
    }

}
