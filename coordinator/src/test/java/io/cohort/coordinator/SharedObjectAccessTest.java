package io.cohort.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.ChannelSecurity;
import io.cohort.common.ColumnBatches;
import io.cohort.common.Protocol;
import io.cohort.coordinator.shared.SharedLimits;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.SharedCallRequest;
import io.cohort.proto.v1.SharedHolder;
import io.cohort.proto.v1.SharedOp;
import io.cohort.proto.v1.SharedOpenRequest;
import io.cohort.proto.v1.SharedServiceGrpc;
import io.cohort.proto.v1.SharedType;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.TaskSubmit;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.cohort.proto.v1.WorkerTaskResult;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Shared objects belong to their session (issue 13, item 3): on a real loopback coordinator
 * with tokens, spoken to in raw protos as a client and as a worker would.
 */
class SharedObjectAccessTest {
    private static final String CLIENT_TOKEN = "client-token-1";
    private static final String WORKER_TOKEN = "worker-token-2";
    /** Small limits, so that the refusals are cheap to reach. */
    private static final SharedLimits LIMITS = new SharedLimits(1 << 20, 3 << 20, 5, 8 << 20);

    private CoordinatorServer server;
    private ManagedChannel asClient;
    private ManagedChannel asWorker;
    private final List<Peer<?, ?>> peers = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = CoordinatorServer.start(CoordinatorConfig.builder().port(0).tokens(CLIENT_TOKEN, WORKER_TOKEN)
                .sharedLimits(LIMITS).build());
        asClient = new ChannelSecurity(null, null, null, CLIENT_TOKEN).channelBuilder(server.target()).build();
        asWorker = new ChannelSecurity(null, null, null, WORKER_TOKEN).channelBuilder(server.target()).build();
    }

    @AfterEach
    void stop() throws Exception {
        for (Peer<?, ?> p : peers) {
            if (!p.ended.isDone()) {
                p.requests.onCompleted();
            }
        }
        asClient.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        asWorker.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
    }

    private Peer<SessionRequest, SessionResponse> client() {
        Peer<SessionRequest, SessionResponse> p = new Peer<>(ClientServiceGrpc.newStub(asClient)::session);
        peers.add(p);
        return p;
    }

    /** A session's id, once the coordinator has welcomed it. */
    private String openSession(Peer<SessionRequest, SessionResponse> c) throws Exception {
        c.send(SessionRequest.newBuilder().setHello(ClientHello.newBuilder().setProtocolVersion(Protocol.VERSION)
                .setClientName("test")).build());
        return c.next().getWelcome().getSessionId();
    }

    private Peer<AttachRequest, AttachResponse> worker(String id) throws Exception {
        Peer<AttachRequest, AttachResponse> w = new Peer<>(WorkerServiceGrpc.newStub(asWorker)::attach);
        peers.add(w);
        w.send(AttachRequest.newBuilder().setHello(WorkerHello.newBuilder().setProtocolVersion(Protocol.VERSION)
                .setWorkerId(id).setHost("localhost").setPid(1).setSlots(2).setPrefetch(0)).build());
        AttachResponse welcome = w.next();
        assertEquals(id, welcome.getWelcome().getWorkerId());
        return w;
    }

    private static SharedOpenRequest.Builder open(String session, String name, SharedType type, long arg) {
        return SharedOpenRequest.newBuilder().setSessionId(session).setName(name).setType(type).setLongArg(arg);
    }

    private static Status.Code refusal(Runnable call) {
        return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
    }

    private static SharedServiceGrpc.SharedServiceBlockingStub shared(ManagedChannel ch) {
        return SharedServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private static SharedHolder task(String worker, TaskAssign a) {
        return SharedHolder.newBuilder().setWorkerId(worker).setTaskKey(a.getTaskKey()).setAttempt(a.getAttempt()).build();
    }

    @Test
    void aMadeUpOrEmptySessionIdIsRefusedAsClientAndAsWorker() throws Exception {
        String real = openSession(client());
        for (ManagedChannel ch : List.of(asClient, asWorker)) {
            for (String made : List.of("", "s-made-up", real + "x")) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> shared(ch)
                        .open(open(made, "big", SharedType.SHARED_LONG_ARRAY, 1000).build()));
                assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
                assertTrue(e.getStatus().getDescription().contains("session"), e.getStatus().getDescription());
            }
        }
        // The probe: arrays under invented ids with the worker token. Nothing was kept.
        assertEquals(Status.Code.PERMISSION_DENIED, refusal(() -> shared(asWorker).open(
                open("s-" + Long.toHexString(42), "a", SharedType.SHARED_LONG_ARRAY, 8_000_000)
                        .setHolder(SharedHolder.newBuilder().setWorkerId("w-x")).build())));
    }

    @Test
    void aWorkerUsesASessionsObjectsOnlyWhileItRunsOneOfItsTasks() throws Exception {
        Peer<SessionRequest, SessionResponse> c = client();
        String session = openSession(c);
        String other = openSession(client());
        long id = shared(asClient).open(open(session, "n", SharedType.SHARED_LONG, 5).build()).getObjectId();
        Peer<AttachRequest, AttachResponse> w = worker("w-1");
        // Before it runs anything of the session: refused.
        SharedHolder idle = SharedHolder.newBuilder().setWorkerId("w-1").setThreadId(1).build();
        assertEquals(Status.Code.PERMISSION_DENIED, refusal(() -> shared(asWorker).call(SharedCallRequest.newBuilder()
                .setSessionId(session).setObjectId(id).setType(SharedType.SHARED_LONG).setOp(SharedOp.GET)
                .setHolder(idle).build())));

        c.send(SessionRequest.newBuilder().addSubmits(TaskSubmit.newBuilder().setTaskId(1)
                .setSpec(TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("body")))).build());
        TaskAssign a = ColumnBatches.assigns(w.nextMatching(r -> !ColumnBatches.assigns(r).isEmpty())).get(0);
        SharedCallRequest add = SharedCallRequest.newBuilder().setSessionId(session).setObjectId(id)
                .setType(SharedType.SHARED_LONG).setOp(SharedOp.ADD_AND_GET).setLongArg(1).setHolder(task("w-1", a)).build();
        assertEquals(6, shared(asWorker).call(add).getLongValue());
        assertEquals(7, shared(asWorker).call(add.toBuilder().setHolder(idle).build()).getLongValue(),
                "a thread of the worker outside the task, while the task runs");
        // Its task does not make it a member of another session, nor can another worker claim it.
        assertEquals(Status.Code.PERMISSION_DENIED, refusal(() -> shared(asWorker).open(open(other, "x",
                SharedType.SHARED_LONG, 0).setHolder(task("w-1", a)).build())));
        assertEquals(Status.Code.PERMISSION_DENIED, refusal(() -> shared(asWorker).call(add.toBuilder()
                .setHolder(task("w-2", a)).build())));
        // A worker's call must say who it is; a client's cannot say it is a worker.
        assertEquals(Status.Code.PERMISSION_DENIED, refusal(() -> shared(asWorker).call(add.toBuilder()
                .setHolder(SharedHolder.newBuilder().setThreadId(1)).build())));
        assertEquals(Status.Code.PERMISSION_DENIED, refusal(() -> shared(asClient).call(add)));

        // A lock the task holds: a client cannot release it by naming the task as the holder.
        long lock = shared(asClient).open(open(session, "l", SharedType.SHARED_LOCK, 0).build()).getObjectId();
        SharedCallRequest.Builder onLock = SharedCallRequest.newBuilder().setSessionId(session).setObjectId(lock)
                .setType(SharedType.SHARED_LOCK);
        assertTrue(shared(asWorker).call(onLock.clone().setOp(SharedOp.LOCK).setHolder(task("w-1", a)).build()).getFlag());
        assertEquals(Status.Code.PERMISSION_DENIED, refusal(() -> shared(asClient).call(onLock.clone()
                .setOp(SharedOp.UNLOCK).setHolder(task("w-1", a)).build())));
        assertEquals(Status.Code.FAILED_PRECONDITION, refusal(() -> shared(asClient).call(onLock.clone()
                .setOp(SharedOp.UNLOCK).setHolder(SharedHolder.newBuilder().setThreadId(1)).build())),
                "as itself, the client is not the holder");
        assertTrue(!shared(asClient).call(onLock.clone().setOp(SharedOp.LOCK).setTimeoutMs(0)
                .setHolder(SharedHolder.newBuilder().setThreadId(1)).build()).getFlag(), "still held by the task");

        w.send(AttachRequest.newBuilder().addResults(WorkerTaskResult.newBuilder().setTaskKey(a.getTaskKey())
                .setAttempt(a.getAttempt()).setStatus(TaskStatus.SUCCEEDED)).build());
        c.nextMatching(m -> !ColumnBatches.results(m).isEmpty());
        assertEquals(Status.Code.PERMISSION_DENIED, refusal(() -> shared(asWorker).call(add)),
                "the task ended: the worker no longer acts for the session");
    }

    @Test
    void aSessionsObjectsGoWhenItEndsAndItsIdIsRefusedAfter() throws Exception {
        Peer<SessionRequest, SessionResponse> c = client();
        String session = openSession(c);
        SharedOpenRequest big = open(session, "a", SharedType.SHARED_LONG_ARRAY, 100_000).build();   // 800 KB
        long id = shared(asClient).open(big).getObjectId();
        c.requests.onCompleted();
        c.awaitEnd();
        // The session is gone: its id opens nothing, and its object is gone with it.
        assertEquals(Status.Code.PERMISSION_DENIED, refusal(() -> shared(asClient).open(big)));
        assertEquals(Status.Code.PERMISSION_DENIED, refusal(() -> shared(asClient).call(SharedCallRequest.newBuilder()
                .setSessionId(session).setObjectId(id).setType(SharedType.SHARED_LONG_ARRAY).setOp(SharedOp.GET).build())));
        // Its bytes no longer count: twelve more sessions in turn each take as much, past what the
        // coordinator's total (8 MiB) would hold at once.
        for (int i = 0; i < 12; i++) {
            Peer<SessionRequest, SessionResponse> next = client();
            String s = openSession(next);
            shared(asClient).open(open(s, "a", SharedType.SHARED_LONG_ARRAY, 100_000).build());
            next.requests.onCompleted();
            next.awaitEnd();
        }
    }

    @Test
    void anOversizedArrayAndTooManyObjectsAreRefusedNamingTheFlag() throws Exception {
        String session = openSession(client());
        StatusRuntimeException big = assertThrows(StatusRuntimeException.class, () -> shared(asClient)
                .open(open(session, "huge", SharedType.SHARED_LONG_ARRAY, 8_000_000).build()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, big.getStatus().getCode());
        assertTrue(big.getStatus().getDescription().contains("--shared-max-object-bytes"), big.getStatus().getDescription());
        assertEquals(Status.Code.INVALID_ARGUMENT, refusal(() -> shared(asClient)
                .open(open(session, "negative", SharedType.SHARED_LONG_ARRAY, -1).build())));
        for (int i = 0; i < LIMITS.maxSessionObjects(); i++) {
            shared(asClient).open(open(session, "n" + i, SharedType.SHARED_LONG, 0).build());
        }
        StatusRuntimeException many = assertThrows(StatusRuntimeException.class, () -> shared(asClient)
                .open(open(session, "one-more", SharedType.SHARED_LONG, 0).build()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, many.getStatus().getCode());
        assertTrue(many.getStatus().getDescription().contains("--shared-max-session-objects"),
                many.getStatus().getDescription());
    }
}
