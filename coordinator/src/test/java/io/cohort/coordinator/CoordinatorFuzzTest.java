package io.cohort.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.cohort.common.Digests;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.StatusRequest;
import io.cohort.proto.v1.TaskCancel;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskSubmit;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerTaskStarted;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile streams against a real coordinator on a loopback port, spoken to in raw frames:
 * random, truncated, bit-flipped and empty messages, messages out of order (submits before
 * hello, a second hello, results and starts for tasks never assigned or with a wrong attempt,
 * a worker taking an attached worker's id), functions whose digest does not match, cancels of
 * unknown ids, huge repeated fields, oversized messages and garbage on the socket. Alongside,
 * a well-behaved client and worker keep running tasks.
 *
 * <p>Properties, per case: the hostile stream ends with a status naming its fault (or stays
 * open where the protocol ignores what it sent), never with a coordinator error; the
 * coordinator logs no error and still answers status; and every task of the good client
 * completes exactly once with its own result.
 */
class CoordinatorFuzzTest {
    private static LoggedErrors errors;
    private static final MethodDescriptor<byte[], byte[]> RAW_SESSION = RawCalls.raw(ClientServiceGrpc.getSessionMethod());
    private static final MethodDescriptor<byte[], byte[]> RAW_ATTACH = RawCalls.raw(WorkerServiceGrpc.getAttachMethod());
    /** What a hostile stream may end with: its own fault, named (INTERNAL would be a scheduler step that threw). */
    private static final Set<Status.Code> FAULTS = Set.of(Status.Code.OK, Status.Code.FAILED_PRECONDITION,
            Status.Code.INVALID_ARGUMENT, Status.Code.ALREADY_EXISTS, Status.Code.RESOURCE_EXHAUSTED);
    private static final int GOOD_TASKS_PER_CASE = 3;

    private CoordinatorServer server;
    private ManagedChannel channel;
    private GoodPair good;

    @BeforeAll
    static void watchErrors() {
        errors = LoggedErrors.watch();
    }

    @AfterAll
    static void stopWatching() {
        errors.close();
    }

    @BeforeEach
    void start() throws Exception {
        errors.clear();
        server = CoordinatorServer.start(CoordinatorConfig.builder().port(0).build());
        channel = Grpc.newChannelBuilder(server.target(), InsecureChannelCredentials.create())
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).build();
        good = new GoodPair(channel, channel);
    }

    @AfterEach
    void stop() throws Exception {
        good.close();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
    }

    // ---- one hostile stream

    /** One frame: the bytes sent, and what they parse as (null if they do not). */
    record Frame(byte[] bytes, Object parsed) {
        @Override
        public String toString() {
            return bytes.length + " bytes" + (parsed == null ? " (not a message)"
                    : ": " + parsed.toString().replace('\n', ' '));
        }
    }

    /** A hostile case: a session or attach stream and its frames, or (no frames) garbage on the socket. */
    record Hostile(boolean worker, List<Frame> frames, boolean socketGarbage, long seed) {}

    private static Frame frame(boolean worker, byte[] bytes) {
        try {
            return new Frame(bytes, worker ? AttachRequest.parseFrom(bytes) : SessionRequest.parseFrom(bytes));
        } catch (InvalidProtocolBufferException e) {
            return new Frame(bytes, null);
        }
    }

    /** A valid encoding, or one truncated, bit-flipped, replaced by garbage, or empty. */
    private static byte[] mangle(Random r, byte[] valid) {
        int how = r.nextInt(10);
        if (how < 5 || valid.length == 0) {
            return valid;
        } else if (how < 7) {
            byte[] flipped = valid.clone();
            for (int i = 1 + r.nextInt(3); i > 0; i--) {
                int bit = r.nextInt(flipped.length * 8);
                flipped[bit / 8] ^= (byte) (1 << (bit % 8));
            }
            return flipped;
        } else if (how < 8) {
            return Arrays.copyOf(valid, r.nextInt(valid.length));
        } else if (how < 9) {
            byte[] junk = new byte[r.nextInt(64)];
            r.nextBytes(junk);
            return junk;
        }
        return new byte[0];
    }

    private static SessionRequest sessionMessage(Random r, boolean first) {
        SessionRequest.Builder b = SessionRequest.newBuilder();
        if (first ? r.nextInt(5) != 0 : r.nextInt(12) == 0) {
            b.setHello(ClientHello.newBuilder().setProtocolVersion(r.nextInt(6) == 0 ? r.nextInt(4) : Protocol.VERSION)
                    .setClientName("hostile"));
        }
        ByteString body = ByteString.copyFromUtf8("fn" + r.nextInt(3));
        if (r.nextInt(4) == 0) {
            b.addFunctions(FunctionDef.newBuilder().setBody(body)
                    .setDigest(r.nextBoolean() ? Digests.sha256(body) : Digests.sha256(ByteString.copyFromUtf8("x"))));
        }
        int submits = r.nextInt(50) == 0 ? 1000 + r.nextInt(1000) : r.nextInt(4);
        for (int i = 0; i < submits; i++) {
            TaskSpec.Builder spec = TaskSpec.newBuilder();
            switch (r.nextInt(4)) {
                case 0 -> spec.setFunctionDigest(Digests.sha256(body));
                case 1 -> { }
                default -> spec.setBody(ByteString.copyFromUtf8("b")).setArgument(ByteString.copyFromUtf8("h" + i));
            }
            TaskPolicy.Builder policy = TaskPolicy.newBuilder().setPriority(r.nextInt(3) - 1);
            if (r.nextInt(6) == 0) {
                policy.putResources("gpu", r.nextBoolean() ? Double.NaN : 1e9);
            }
            b.addSubmits(TaskSubmit.newBuilder().setTaskId(submits > 100 ? i : r.nextInt(5)).setSpec(spec)
                    .setPolicy(policy));
        }
        int cancels = r.nextInt(50) == 0 ? 10_000 : r.nextInt(3);
        for (int i = 0; i < cancels; i++) {
            b.addCancels(TaskCancel.newBuilder().setTaskId(r.nextLong()).setInterrupt(r.nextBoolean()));
        }
        return b.build();
    }

    private static AttachRequest attachMessage(Random r, boolean first) {
        AttachRequest.Builder b = AttachRequest.newBuilder();
        if (first ? r.nextInt(5) != 0 : r.nextInt(12) == 0) {
            String[] ids = {"", "hostile", "good"};
            int[] counts = {0, 1, 2, -1, Integer.MAX_VALUE};
            b.setHello(WorkerHello.newBuilder().setProtocolVersion(r.nextInt(6) == 0 ? r.nextInt(4) : Protocol.VERSION)
                    .setWorkerId(ids[r.nextInt(ids.length)]).setSlots(counts[r.nextInt(counts.length)])
                    .setPrefetch(counts[r.nextInt(counts.length)])
                    .putResources("gpu", r.nextBoolean() ? 1 : Double.NaN).addLabels(r.nextBoolean() ? "gpu" : "zone=a"));
        }
        // Keys of real tasks (the good client's among them) with any attempt: none is this worker's.
        int reports = r.nextInt(50) == 0 ? 20_000 : r.nextInt(4);
        for (int i = 0; i < reports; i++) {
            long key = r.nextBoolean() ? 1 + r.nextInt(200) : r.nextLong();
            int attempt = r.nextInt(3);
            if (r.nextBoolean()) {
                b.addStarted(WorkerTaskStarted.newBuilder().setTaskKey(key).setAttempt(attempt));
            } else {
                b.addResults(WorkerTaskResult.newBuilder().setTaskKey(key).setAttempt(attempt)
                        .setStatusValue(r.nextInt(10)).setValue(ByteString.copyFromUtf8("forged")));
            }
        }
        b.setDraining(r.nextInt(10) == 0);
        return b.build();
    }

    private static Hostile hostile(Random r, boolean worker) {
        long seed = r.nextLong();
        if (r.nextInt(25) == 0) {
            return new Hostile(worker, List.of(), true, seed);
        }
        List<Frame> frames = new ArrayList<>();
        for (int i = 1 + r.nextInt(5); i > 0; i--) {
            boolean first = frames.isEmpty();
            byte[] valid = worker ? attachMessage(r, first).toByteArray() : sessionMessage(r, first).toByteArray();
            frames.add(frame(worker, mangle(r, valid)));
        }
        return new Hostile(worker, frames, false, seed);
    }

    /** What the stream must end with when its first frame decides it; null when any named fault will do. */
    private static Status.Code expectedEnd(Hostile h) {
        Object first = h.frames().get(0).parsed();
        if (first == null) {
            return Status.Code.INVALID_ARGUMENT;
        }
        boolean hasHello = first instanceof AttachRequest a ? a.hasHello() : ((SessionRequest) first).hasHello();
        int version = first instanceof AttachRequest a ? a.getHello().getProtocolVersion()
                : ((SessionRequest) first).getHello().getProtocolVersion();
        return !hasHello || version != Protocol.VERSION ? Status.Code.FAILED_PRECONDITION : null;
    }

    private void runHostile(Hostile h) throws Exception {
        if (h.socketGarbage()) {
            socketGarbage(new Random(h.seed()));
            return;
        }
        Peer<byte[], byte[]> p = new Peer<>(responses -> ClientCalls.asyncBidiStreamingCall(
                channel.newCall(h.worker() ? RAW_ATTACH : RAW_SESSION, CallOptions.DEFAULT), responses));
        for (Frame f : h.frames()) {
            p.send(f.bytes());
        }
        p.requests.onCompleted();
        Status end = p.awaitEnd();
        assertTrue(FAULTS.contains(end.getCode()), () -> "hostile stream ended with " + end);
        Status.Code expected = expectedEnd(h);
        if (expected != null) {
            assertEquals(expected, end.getCode(), () -> "ended with " + end);
        }
    }

    private void socketGarbage(Random r) throws IOException {
        byte[] junk = new byte[1 + r.nextInt(4096)];
        r.nextBytes(junk);
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            try {
                if (r.nextBoolean()) {
                    out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                }
                out.write(junk);
                out.flush();
                socket.shutdownOutput();
            } catch (IOException closedByServer) {
                // the server may close first
            }
            try {
                while (socket.getInputStream().read(junk) >= 0) {
                    // until the server closes it
                }
            } catch (IOException reset) {
                // also a close
            }
        }
    }

    // ---- the good pair

    private int fuzz(String name, long seed, int tries, boolean workerStreams) {
        int cases = Fuzz.check(name, seed, tries, Duration.ofSeconds(15), r -> hostile(r, workerStreams), h -> {
            Random r = new Random(h.seed());
            good.submit(r, GOOD_TASKS_PER_CASE);
            runHostile(h);
            good.awaitAll();
            assertEquals(List.of(), errors.messages(), "errors logged");
            assertTrue(AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .status(StatusRequest.getDefaultInstance()).getWorkersCount() >= 1);
        });
        good.assertStreamsOpen();
        return cases;
    }

    @Test
    void hostileSessionsDisturbOnlyThemselves() {
        assertTrue(fuzz("session-streams", 11, 300, false) >= 10);
    }

    @Test
    void hostileAttachmentsDisturbOnlyThemselves() {
        assertTrue(fuzz("attach-streams", 12, 300, true) >= 10);
    }

    /** Messages past the 64 MiB limit end that stream with RESOURCE_EXHAUSTED; the good pair carries on. */
    @Test
    void oversizedMessagesEndOnlyTheirStream() throws Exception {
        byte[] huge = SessionRequest.newBuilder().addSubmits(TaskSubmit.newBuilder().setTaskId(1).setSpec(TaskSpec
                .newBuilder().setBody(ByteString.copyFromUtf8("b")).setArgument(ByteString.copyFrom(
                        new byte[Protocol.MAX_MESSAGE_BYTES])))).build().toByteArray();
        for (MethodDescriptor<byte[], byte[]> method : List.of(RAW_SESSION, RAW_ATTACH)) {
            Peer<byte[], byte[]> p = new Peer<>(responses -> ClientCalls.asyncBidiStreamingCall(
                    channel.newCall(method, CallOptions.DEFAULT), responses));
            p.send(huge);
            Status end = p.awaitEnd();
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, end.getCode(), () -> "ended with " + end);
            good.submit(new Random(7), GOOD_TASKS_PER_CASE);
            good.awaitAll();
        }
        good.assertStreamsOpen();
        assertEquals(List.of(), errors.messages(), "errors logged");
        assertNotEquals(0, good.completed());
    }

    /**
     * Found by the properties above: a frame that does not decode ended the call inside gRPC
     * (UNKNOWN) while the scheduler thread wrote the welcome, and the peer received headers
     * after the trailers, so its channel tore down the connection the good pair shared.
     */
    @Test
    void undecodableFramesAreInvalidArgumentForThatStreamOnly() throws Exception {
        byte[] hello = SessionRequest.newBuilder().setHello(ClientHello.newBuilder()
                .setProtocolVersion(Protocol.VERSION)).build().toByteArray();
        byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff};
        for (int i = 0; i < 20; i++) {
            Peer<byte[], byte[]> p = new Peer<>(responses -> ClientCalls.asyncBidiStreamingCall(
                    channel.newCall(RAW_SESSION, CallOptions.DEFAULT), responses));
            if (i % 2 == 0) {
                p.send(hello);
            }
            p.send(garbage);
            Status end = p.awaitEnd();
            assertEquals(Status.Code.INVALID_ARGUMENT, end.getCode(), () -> "ended with " + end);
            assertTrue(end.getDescription().startsWith("a message that does not decode: "), end.getDescription());
            good.submit(new Random(i), GOOD_TASKS_PER_CASE);
            good.awaitAll();
        }
        good.assertStreamsOpen();
        assertEquals(List.of(), errors.messages(), "errors logged");
    }

    @Test
    void harnessReportsAFailingCaseWithItsSeed() {
        AssertionError e = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> Fuzz.checkSteps("always-fails-on-7", 1, 100, Duration.ofSeconds(5),
                        r -> List.of(r.nextInt(5), 7, r.nextInt(5)),
                        steps -> assertTrue(!steps.contains(7), "contains 7")));
        assertTrue(e.getMessage().startsWith("always-fails-on-7 failed at case 0 (seed 1000003), shrunk: 1 steps:\n  7"),
                e.getMessage());
        if (!(e.getCause() instanceof AssertionError)) {
            fail("the cause is the property's own failure: " + e.getCause());
        }
    }
}
