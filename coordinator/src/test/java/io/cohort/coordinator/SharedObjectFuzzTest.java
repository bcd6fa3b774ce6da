package io.cohort.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.ChannelSecurity;
import io.cohort.common.ColumnBatches;
import io.cohort.common.Protocol;
import io.cohort.coordinator.shared.SharedLimits;
import io.cohort.coordinator.shared.SharedStore;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.SharedAbandonRequest;
import io.cohort.proto.v1.SharedCallRequest;
import io.cohort.proto.v1.SharedHolder;
import io.cohort.proto.v1.SharedOpenRequest;
import io.cohort.proto.v1.SharedServiceGrpc;
import io.cohort.proto.v1.StatusRequest;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.TaskSubmit;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.cohort.proto.v1.WorkerTaskResult;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Random SharedService calls against a real coordinator on a loopback port, with tokens, as a
 * client and as a worker would send them: Open, Call and Abandon of random (and unknown)
 * types and operations, sizes from 0 through huge and negative, indexes out of range, keys
 * and values up to past the object limit, timeouts absent, zero, negative and enormous,
 * session ids that are the case's own, another live one, ended, invented or empty, and holders
 * that are the client, the worker's running task, a task that is not running, another worker,
 * or a worker naming no task. Calls go out concurrently, and the task and the sessions end
 * while some are still parked.
 *
 * <p>Properties, per case: every call ends, with OK or a named refusal (a code of the
 * SharedService contract, with a description), never UNKNOWN, INTERNAL or UNAVAILABLE; the
 * coordinator logs no error; when the case's sessions end, the store holds no object and
 * counts 0 bytes; and a good client's tasks still complete and status still answers.
 */
class SharedObjectFuzzTest {
    private static final String CLIENT_TOKEN = "fuzz-client-token";
    private static final String WORKER_TOKEN = "fuzz-worker-token";
    /** Small limits, so that random sizes reach every refusal. */
    private static final SharedLimits LIMITS = new SharedLimits(1 << 20, 3 << 20, 6, 8 << 20);
    /** The case's tasks run only on the case's raw worker, never on the good pair's. */
    private static final String LABEL = "shared-fuzz";
    private static final Set<Status.Code> NAMED = Set.of(Status.Code.OK, Status.Code.INVALID_ARGUMENT,
            Status.Code.FAILED_PRECONDITION, Status.Code.NOT_FOUND, Status.Code.OUT_OF_RANGE,
            Status.Code.PERMISSION_DENIED, Status.Code.RESOURCE_EXHAUSTED, Status.Code.DEADLINE_EXCEEDED,
            Status.Code.ABORTED);
    private static final long[] LONGS = {0, 1, 2, 3, 7, -1, -2, 1000, 100_000, 8_000_000, Integer.MAX_VALUE - 8L,
            Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE};
    private static final long[] TIMEOUTS = {0, 1, 20, -1, -5000, Long.MAX_VALUE, Long.MIN_VALUE};
    private static LoggedErrors errors;

    private static CoordinatorServer server;
    private static ManagedChannel asClient;
    private static ManagedChannel asWorker;
    private static GoodPair good;
    private static Peer<AttachRequest, AttachResponse> worker;
    private static long nextTask = 1;
    /** What the calls ended with, over all cases, and the most bytes the store held: the run is not vacuous. */
    private static final java.util.Map<Status.Code, Integer> SEEN = new java.util.concurrent.ConcurrentHashMap<>();
    private static long mostBytes;

    @BeforeAll
    static void start() throws Exception {
        errors = LoggedErrors.watch();
        server = CoordinatorServer.start(CoordinatorConfig.builder().port(0).tokens(CLIENT_TOKEN, WORKER_TOKEN)
                .sharedLimits(LIMITS).build());
        asClient = new ChannelSecurity(null, null, null, CLIENT_TOKEN).channelBuilder(server.target())
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).build();
        asWorker = new ChannelSecurity(null, null, null, WORKER_TOKEN).channelBuilder(server.target())
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).build();
        good = new GoodPair(asClient, asWorker);
        worker = new Peer<>(WorkerServiceGrpc.newStub(asWorker)::attach);
        worker.send(AttachRequest.newBuilder().setHello(WorkerHello.newBuilder().setProtocolVersion(Protocol.VERSION)
                .setWorkerId("w-fuzz").setHost("localhost").setPid(1).setSlots(4).setPrefetch(0).addLabels(LABEL))
                .build());
        assertEquals("w-fuzz", worker.next().getWelcome().getWorkerId());
    }

    @AfterAll
    static void stop() throws Exception {
        errors.close();
        worker.requests.onCompleted();
        good.close();
        asClient.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        asWorker.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
    }

    // ---- one case

    /** Whose session a request names. */
    enum SessionPick { OWN, OTHER_LIVE, EMPTY, INVENTED, ENDED }

    /** Who a request says it is, and on which channel it comes. */
    enum HolderPick { CLIENT_NONE, CLIENT_THREAD, CLIENT_AS_TASK, WORKER_TASK, WORKER_OTHER_TASK, WORKER_IDLE,
        OTHER_WORKER, WORKER_NONE }

    /** One request; {@code object} picks among the ids the case's opens returned (or an invented one). */
    record Step(int kind, SessionPick session, HolderPick holder, int type, int op, int object, long longArg,
                long longArg2, double doubleArg, int index, int keyBytes, int valueBytes, boolean hasTimeout,
                long timeout, long requestId, int name, int mangle) {
        @Override
        public String toString() {
            return (kind == 0 ? "open" : kind == 1 ? "call" : "abandon") + " session=" + session + " holder=" + holder
                    + " type=" + type + " op=" + op + " object=" + object + " long=" + longArg + "/" + longArg2
                    + " double=" + doubleArg + " index=" + index + " key=" + keyBytes + "B value=" + valueBytes
                    + "B timeout=" + (hasTimeout ? timeout : "none") + " request=" + requestId + " name=n" + name
                    + (mangle == 0 ? "" : mangle == 1 ? " truncated" : mangle == 2 ? " bit-flipped" : " garbage");
        }
    }

    /** A case: opens first (their ids feed the calls), then calls, with the task ended before or after them. */
    record Case(List<Step> opens, List<Step> calls, boolean taskEndsFirst, long seed) {}

    private static int bytes(Random r) {
        int pick = r.nextInt(20);
        return pick < 12 ? r.nextInt(16) : pick < 18 ? r.nextInt(4096) : pick < 19 ? 300_000 : (1 << 20) + 1;
    }

    private static Step step(Random r, int kind) {
        SessionPick[] sessions = SessionPick.values();
        HolderPick[] holders = HolderPick.values();
        SessionPick session = r.nextInt(3) == 0 ? sessions[r.nextInt(sessions.length)] : SessionPick.OWN;
        // Half the time one the coordinator accepts while the task runs, so that calls reach the objects.
        HolderPick[] accepted = {HolderPick.CLIENT_NONE, HolderPick.CLIENT_THREAD, HolderPick.WORKER_TASK};
        HolderPick holder = r.nextBoolean() ? accepted[r.nextInt(accepted.length)] : holders[r.nextInt(holders.length)];
        int type = r.nextInt(20) == 0 ? 11 + r.nextInt(100) : r.nextInt(11);   // 0 and past the last: not a type
        int op = r.nextInt(20) == 0 ? 34 + r.nextInt(100) : r.nextInt(34);
        return new Step(kind, session, holder, type, op, r.nextInt(8), LONGS[r.nextInt(LONGS.length)],
                LONGS[r.nextInt(LONGS.length)], r.nextInt(8) == 0 ? Double.NaN : r.nextGaussian() * 100,
                r.nextInt(5) == 0 ? (int) LONGS[r.nextInt(LONGS.length)] : r.nextInt(4), bytes(r), bytes(r),
                r.nextInt(3) != 0, TIMEOUTS[r.nextInt(TIMEOUTS.length)], r.nextInt(4), r.nextInt(4),
                r.nextInt(10) == 0 ? 1 + r.nextInt(3) : 0);
    }

    private static Case generate(Random r) {
        List<Step> opens = new ArrayList<>();
        for (int i = 1 + r.nextInt(6); i > 0; i--) {
            opens.add(step(r, 0));
        }
        List<Step> calls = new ArrayList<>();
        for (int i = r.nextInt(25); i > 0; i--) {
            calls.add(step(r, r.nextInt(6) == 0 ? 2 : r.nextInt(5) == 0 ? 0 : 1));
        }
        return new Case(opens, calls, r.nextInt(4) == 0, r.nextLong());
    }

    /** The case's sessions and task, on which the steps' picks resolve. */
    private record World(String own, String other, String ended, TaskAssign task, List<Long> objects) {}

    /** One request's end: its status, once it has one. */
    private record Sent(Step step, CompletableFuture<Status> end) {}

    private static <T> StreamObserver<T> ending(CompletableFuture<Status> end) {
        return new StreamObserver<>() {
            @Override
            public void onNext(T value) {}

            @Override
            public void onError(Throwable t) {
                end.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                end.complete(Status.OK);
            }
        };
    }

    private static SharedHolder holder(HolderPick pick, TaskAssign task, Random r) {
        SharedHolder.Builder h = SharedHolder.newBuilder();
        switch (pick) {
            case CLIENT_NONE, WORKER_NONE -> { }
            case CLIENT_THREAD -> h.setThreadId(1 + r.nextInt(3));
            case CLIENT_AS_TASK, WORKER_TASK -> h.setWorkerId("w-fuzz").setTaskKey(task.getTaskKey())
                    .setAttempt(task.getAttempt());
            case WORKER_OTHER_TASK -> h.setWorkerId("w-fuzz").setTaskKey(task.getTaskKey() + 1 + r.nextInt(1000))
                    .setAttempt(r.nextInt(3));
            case WORKER_IDLE -> h.setWorkerId("w-fuzz").setThreadId(7);
            case OTHER_WORKER -> h.setWorkerId("good").setTaskKey(task.getTaskKey()).setAttempt(task.getAttempt());
        }
        return h.build();
    }

    private static String session(SessionPick pick, World w, Random r) {
        return switch (pick) {
            case OWN -> w.own();
            case OTHER_LIVE -> w.other();
            case EMPTY -> "";
            case INVENTED -> r.nextBoolean() ? "s-" + Long.toHexString(r.nextLong()) : w.own() + "x";
            case ENDED -> w.ended();
        };
    }

    private static ByteString junk(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return ByteString.copyFrom(b);
    }

    /** The encoding truncated, bit-flipped, or replaced by garbage (some of these still decode). */
    private static byte[] mangled(Random r, int how, byte[] valid) {
        if (how == 1 && valid.length > 0) {
            return java.util.Arrays.copyOf(valid, r.nextInt(valid.length));
        } else if (how == 2 && valid.length > 0) {
            byte[] flipped = valid.clone();
            for (int i = 1 + r.nextInt(3); i > 0; i--) {
                int bit = r.nextInt(flipped.length * 8);
                flipped[bit / 8] ^= (byte) (1 << (bit % 8));
            }
            return flipped;
        }
        byte[] junk = new byte[1 + r.nextInt(64)];
        r.nextBytes(junk);
        return junk;
    }

    /** Open, Call and Abandon spoken in raw bytes, by step kind. */
    private static final List<MethodDescriptor<byte[], byte[]>> RAW = List.of(RawCalls.raw(SharedServiceGrpc.getOpenMethod()),
            RawCalls.raw(SharedServiceGrpc.getCallMethod()), RawCalls.raw(SharedServiceGrpc.getAbandonMethod()));

    private static Sent send(Step s, World w, Random r) {
        CompletableFuture<Status> end = new CompletableFuture<>();
        boolean asWorkerRole = s.holder().ordinal() >= HolderPick.WORKER_TASK.ordinal();
        SharedServiceGrpc.SharedServiceStub stub = SharedServiceGrpc.newStub(asWorkerRole ? asWorker : asClient)
                // Calls that would park without bound end here: the client gives up, the coordinator sees a cancel.
                .withDeadlineAfter(r.nextInt(4) == 0 ? 30 : 2000, TimeUnit.MILLISECONDS);
        String session = session(s.session(), w, r);
        SharedHolder holder = holder(s.holder(), w.task(), r);
        long object = s.object() < w.objects().size() ? w.objects().get(s.object())
                : s.object() == 7 ? 0 : 1_000_000 + r.nextInt(1000);
        com.google.protobuf.Message request;
        switch (s.kind()) {
            case 0 -> {
                SharedOpenRequest.Builder b = SharedOpenRequest.newBuilder().setSessionId(session).setName("n" + s.name())
                        .setTypeValue(s.type()).setLongArg(s.longArg()).setDoubleArg(s.doubleArg());
                if (s.holder() != HolderPick.CLIENT_NONE) {
                    b.setHolder(holder);
                }
                request = b.build();
            }
            case 1 -> {
                SharedCallRequest.Builder b = SharedCallRequest.newBuilder().setSessionId(session).setObjectId(object)
                        .setTypeValue(s.type()).setOpValue(s.op()).setRequestId(s.requestId()).setIndex(s.index())
                        .setLongArg(s.longArg()).setLongArg2(s.longArg2()).setDoubleArg(s.doubleArg())
                        .setDoubleArg2(-s.doubleArg()).setKey(junk(r, s.keyBytes())).setValue(junk(r, s.valueBytes()));
                if (s.hasTimeout()) {
                    b.setTimeoutMs(s.timeout());
                }
                if (s.holder() != HolderPick.CLIENT_NONE) {
                    b.setHolder(holder);
                }
                request = b.build();
            }
            default -> request = SharedAbandonRequest.newBuilder().setSessionId(session).setObjectId(object)
                    .setRequestId(s.requestId()).build();
        }
        if (s.mangle() == 0) {
            switch (s.kind()) {
                case 0 -> stub.open((SharedOpenRequest) request, ending(end));
                case 1 -> stub.call((SharedCallRequest) request, ending(end));
                default -> stub.abandon((SharedAbandonRequest) request, ending(end));
            }
        } else {
            MethodDescriptor<byte[], byte[]> raw = RAW.get(s.kind());
            io.grpc.stub.ClientCalls.asyncUnaryCall((asWorkerRole ? asWorker : asClient).newCall(raw,
                    stub.getCallOptions()), mangled(r, s.mangle(), request.toByteArray()), ending(end));
        }
        return new Sent(s, end);
    }

    private static Peer<SessionRequest, SessionResponse> client() {
        return new Peer<>(ClientServiceGrpc.newStub(asClient)::session);
    }

    private static String hello(Peer<SessionRequest, SessionResponse> c) throws InterruptedException {
        c.send(SessionRequest.newBuilder().setHello(ClientHello.newBuilder().setProtocolVersion(Protocol.VERSION)
                .setClientName("shared-fuzz")).build());
        return c.next().getWelcome().getSessionId();
    }

    private static void checkEnd(Sent sent, Status end) {
        SEEN.merge(end.getCode(), 1, Integer::sum);
        assertTrue(NAMED.contains(end.getCode()), () -> sent.step() + " ended with " + end);
        if (!end.isOk()) {
            String d = end.getDescription();
            assertTrue(d != null && !d.isBlank(), () -> sent.step() + " ended with " + end + " and no description");
        }
    }


    private static void run(Case c) throws Exception {
        Random r = new Random(c.seed());
        good.submit(r, 2);
        // A session that ended before the case: its id must open nothing.
        Peer<SessionRequest, SessionResponse> gone = client();
        String ended = hello(gone);
        gone.requests.onCompleted();
        gone.awaitEnd();
        Peer<SessionRequest, SessionResponse> own = client();
        Peer<SessionRequest, SessionResponse> other = client();
        String ownId = hello(own);
        String otherId = hello(other);
        long taskId = nextTask++;
        own.send(SessionRequest.newBuilder().addSubmits(TaskSubmit.newBuilder().setTaskId(taskId)
                .setSpec(TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("body")))
                .setPolicy(TaskPolicy.newBuilder().addLabels(LABEL))).build());
        TaskAssign task = ColumnBatches.assigns(worker.nextMatching(m -> !ColumnBatches.assigns(m).isEmpty())).get(0);

        World w = new World(ownId, otherId, ended, task, new ArrayList<>());
        List<Sent> sent = new ArrayList<>();
        for (Step s : c.opens()) {
            Sent open = send(s, w, r);
            sent.add(open);
            Status end = open.end().get(10, TimeUnit.SECONDS);
            checkEnd(open, end);
        }
        // The ids the opens returned: read back by opening the same names as the client (own session).
        for (int name = 0; name < 4; name++) {
            CompletableFuture<io.cohort.proto.v1.SharedOpenResponse> id = new CompletableFuture<>();
            SharedServiceGrpc.newStub(asClient).withDeadlineAfter(10, TimeUnit.SECONDS).open(SharedOpenRequest
                    .newBuilder().setSessionId(ownId).setName("n" + name).setTypeValue(1 + r.nextInt(10))
                    .setLongArg(1).build(), new StreamObserver<>() {
                        @Override
                        public void onNext(io.cohort.proto.v1.SharedOpenResponse value) {
                            id.complete(value);
                        }

                        @Override
                        public void onError(Throwable t) {
                            id.complete(null);
                        }

                        @Override
                        public void onCompleted() {}
                    });
            io.cohort.proto.v1.SharedOpenResponse got = id.get(10, TimeUnit.SECONDS);
            if (got != null) {
                w.objects().add(got.getObjectId());
            }
        }
        if (c.taskEndsFirst()) {
            endTask(task, own, taskId);
        }
        for (Step s : c.calls()) {
            sent.add(send(s, w, r));
        }
        if (!c.taskEndsFirst()) {
            endTask(task, own, taskId);
        }
        mostBytes = Math.max(mostBytes, server.sharedStore().bytes());
        // The sessions end with calls still parked on their objects.
        own.requests.onCompleted();
        other.requests.onCompleted();
        own.awaitEnd();
        other.awaitEnd();
        for (Sent s : sent) {
            checkEnd(s, s.end().get(10, TimeUnit.SECONDS));
        }
        SharedStore store = server.sharedStore();
        Fuzz.awaitCondition("objects left after their sessions ended: " + store.size() + ", " + store.bytes() + " bytes",
                () -> store.size() == 0 && store.bytes() == 0);
        good.awaitAll();
        assertEquals(List.of(), errors.messages(), "errors logged");
        assertTrue(AdminServiceGrpc.newBlockingStub(asClient).withDeadlineAfter(10, TimeUnit.SECONDS)
                .status(StatusRequest.getDefaultInstance()).getWorkersCount() >= 2);
    }

    /** The raw worker finishes the case's task; its client gets the result. */
    private static void endTask(TaskAssign task, Peer<SessionRequest, SessionResponse> own, long taskId)
            throws InterruptedException {
        worker.send(AttachRequest.newBuilder().addResults(WorkerTaskResult.newBuilder().setTaskKey(task.getTaskKey())
                .setAttempt(task.getAttempt()).setStatus(TaskStatus.SUCCEEDED)
                .setValue(ByteString.copyFromUtf8("done"))).build());
        SessionResponse m = own.nextMatching(x -> !ColumnBatches.results(x).isEmpty());
        assertEquals(taskId, ColumnBatches.results(m).get(0).getTaskId());
    }

    @Test
    void randomSharedObjectCallsEndWithANamedStatusAndLeaveNothingBehind() {
        int cases = Fuzz.check("shared-object-calls", 31, 200, Duration.ofSeconds(3), SharedObjectFuzzTest::generate,
                SharedObjectFuzzTest::run);
        assertTrue(cases >= 5, "only " + cases + " cases ran");   // fewer than the tries only on a loaded machine
        System.out.println("fuzz shared-object-calls: calls ended " + SEEN + "; the store held up to " + mostBytes
                + " bytes");
        assertTrue(SEEN.keySet().containsAll(Set.of(Status.Code.OK, Status.Code.PERMISSION_DENIED)),
                "calls ended " + SEEN);
        assertTrue(mostBytes > 0, "no case's objects held any bytes");
        good.assertStreamsOpen();
        assertFalse(worker.ended.isDone(), "the case's worker stream ended: " + worker.ended.getNow(null));
    }

    /**
     * Found by the property above: a request of a one-request call (SharedService, a payload
     * fetch, AdminService) that did not decode ended with UNKNOWN "Application error processing
     * RPC", which names no fault. It is INVALID_ARGUMENT saying that the message does not decode.
     */
    @Test
    void anUndecodableRequestIsInvalidArgumentNamingIt() throws Exception {
        byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff};
        List<MethodDescriptor<?, ?>> methods = List.of(SharedServiceGrpc.getOpenMethod(), SharedServiceGrpc.getCallMethod(),
                SharedServiceGrpc.getAbandonMethod(), io.cohort.proto.v1.PayloadServiceGrpc.getFetchMethod(),
                AdminServiceGrpc.getStatusMethod());
        for (MethodDescriptor<?, ?> typed : methods) {
            CompletableFuture<Status> end = new CompletableFuture<>();
            MethodDescriptor<byte[], byte[]> raw = RawCalls.raw(typed);
            if (typed.getType() == MethodDescriptor.MethodType.UNARY) {
                io.grpc.stub.ClientCalls.asyncUnaryCall(asClient.newCall(raw, io.grpc.CallOptions.DEFAULT), garbage,
                        ending(end));
            } else {
                io.grpc.stub.ClientCalls.asyncServerStreamingCall(asClient.newCall(raw, io.grpc.CallOptions.DEFAULT),
                        garbage, ending(end));
            }
            Status s = end.get(10, TimeUnit.SECONDS);
            assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), () -> typed.getFullMethodName() + " ended with " + s);
            assertTrue(s.getDescription().startsWith("a message that does not decode: "), s.getDescription());
        }
        assertTrue(AdminServiceGrpc.newBlockingStub(asClient).withDeadlineAfter(10, TimeUnit.SECONDS)
                .status(StatusRequest.getDefaultInstance()).getWorkersCount() >= 2, "the coordinator still answers");
    }
}
