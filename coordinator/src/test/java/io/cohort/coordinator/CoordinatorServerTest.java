package io.cohort.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.ColumnBatches;
import io.cohort.common.Digests;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.DrainRequest;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.StatusRequest;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.TaskSubmit;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.cohort.proto.v1.WorkerStatusState;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerTaskStarted;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The gRPC shell on a real loopback server, spoken to in raw protos. */
class CoordinatorServerTest {
    private CoordinatorServer server;
    private ManagedChannel channel;
    private final List<Peer<?, ?>> peers = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = CoordinatorServer.start(CoordinatorConfig.builder().port(0).build());
        channel = Grpc.newChannelBuilder(server.target(), InsecureChannelCredentials.create()).build();
    }

    @AfterEach
    void stop() throws Exception {
        for (Peer<?, ?> p : peers) {
            if (!p.ended.isDone()) {
                try {
                    p.requests.onCompleted();
                } catch (IllegalStateException halfClosedByTheTest) {
                    // statusAndDrain half-closes a worker itself; its stream may not have ended yet
                }
            }
        }
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
    }

    private Peer<SessionRequest, SessionResponse> client() {
        Peer<SessionRequest, SessionResponse> p = new Peer<>(ClientServiceGrpc.newStub(channel)::session);
        peers.add(p);
        return p;
    }

    private Peer<AttachRequest, AttachResponse> worker() {
        Peer<AttachRequest, AttachResponse> p = new Peer<>(WorkerServiceGrpc.newStub(channel)::attach);
        peers.add(p);
        return p;
    }

    private static SessionRequest clientHello(int version) {
        return SessionRequest.newBuilder()
                .setHello(ClientHello.newBuilder().setProtocolVersion(version).setClientName("test")).build();
    }

    private static AttachRequest workerHello(String id) {
        return workerHello(id, 2, 1);
    }

    private static AttachRequest workerHello(String id, int slots, int prefetch) {
        return AttachRequest.newBuilder().setHello(WorkerHello.newBuilder().setProtocolVersion(Protocol.VERSION)
                .setWorkerId(id).setHost("localhost").setPid(1).setSlots(slots).setPrefetch(prefetch)).build();
    }

    private Peer<SessionRequest, SessionResponse> connectedClient() throws Exception {
        Peer<SessionRequest, SessionResponse> c = client().send(clientHello(Protocol.VERSION));
        assertTrue(c.next().getWelcome().getSessionId().startsWith("s-"));
        return c;
    }

    private Peer<AttachRequest, AttachResponse> attachedWorker(String id) throws Exception {
        return attachedWorker(workerHello(id));
    }

    private Peer<AttachRequest, AttachResponse> attachedWorker(AttachRequest hello) throws Exception {
        String id = hello.getHello().getWorkerId();
        Peer<AttachRequest, AttachResponse> w = worker().send(hello);
        AttachResponse welcome = w.next();
        assertEquals(id, welcome.getWelcome().getWorkerId());
        if (!ColumnBatches.assigns(welcome).isEmpty()) {
            w.unread(welcome);   // queued tasks come with the welcome
        }
        return w;
    }

    private static SessionRequest submit(long taskId) {
        return SessionRequest.newBuilder().addSubmits(TaskSubmit.newBuilder().setTaskId(taskId)
                .setSpec(TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("body")))).build();
    }

    /** Runs the next task assigned to {@code w} and returns the client's result for it. */
    private static TaskResult runOne(Peer<AttachRequest, AttachResponse> w, Peer<SessionRequest, SessionResponse> c)
            throws Exception {
        TaskAssign a = ColumnBatches.assigns(w.nextMatching(r -> !ColumnBatches.assigns(r).isEmpty())).get(0);
        w.send(AttachRequest.newBuilder().addResults(WorkerTaskResult.newBuilder().setTaskKey(a.getTaskKey())
                .setAttempt(a.getAttempt()).setStatus(TaskStatus.SUCCEEDED).setValue(ByteString.copyFromUtf8("ok"))).build());
        return ColumnBatches.results(c.nextMatching(m -> !ColumnBatches.results(m).isEmpty())).get(0);
    }

    private StatusResponse status() {
        return AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .status(StatusRequest.getDefaultInstance());
    }

    @Test
    void aCoordinatorWithoutTokensSaysSoOnceAtStartAndOneWithTokensDoesNot() throws Exception {
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger(CoordinatorServer.class.getName());
        List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getLevel() == java.util.logging.Level.WARNING) {
                    warnings.add(r.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        jul.addHandler(h);
        try {
            try (CoordinatorServer open = CoordinatorServer.start(CoordinatorConfig.builder().port(0).build())) {
                assertEquals(1, warnings.size(), warnings::toString);
                assertTrue(warnings.get(0).contains("no tokens") && warnings.get(0).contains("--client-token-file"),
                        warnings.get(0));
            }
            try (CoordinatorServer guarded = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                    .tokens("c-token", "w-token").build())) {
                assertEquals(1, warnings.size(), "a coordinator with tokens says nothing: " + warnings);
            }
        } finally {
            jul.removeHandler(h);
        }
    }

    @Test
    void taskRoundTripWithFunctionSentBeforeItsAssign() throws Exception {
        Peer<AttachRequest, AttachResponse> w = worker().send(workerHello(""));
        AttachResponse welcome = w.next();
        assertEquals("w-1", welcome.getWelcome().getWorkerId());
        assertEquals(10_000, welcome.getWelcome().getHeartbeatTimeoutMs());
        assertEquals(Protocol.VERSION, welcome.getWelcome().getProtocolVersion());
        Peer<SessionRequest, SessionResponse> c = connectedClient();

        ByteString body = ByteString.copyFromUtf8("a function");
        FunctionDef f = FunctionDef.newBuilder().setBody(body).setDigest(Digests.sha256(body)).build();
        c.send(SessionRequest.newBuilder().addFunctions(f).addSubmits(TaskSubmit.newBuilder().setTaskId(41)
                .setSpec(TaskSpec.newBuilder().setFunctionDigest(f.getDigest()).setArgument(ByteString.copyFromUtf8("x"))))
                .build());
        AttachResponse assign = w.nextMatching(r -> !ColumnBatches.assigns(r).isEmpty());
        assertEquals(List.of(f), assign.getFunctionsList());
        TaskAssign a = ColumnBatches.assigns(assign).get(0);
        assertEquals(1, a.getAttempt());
        assertEquals(f.getDigest(), a.getSpec().getFunctionDigest());

        w.send(AttachRequest.newBuilder().addStarted(WorkerTaskStarted.newBuilder().setTaskKey(a.getTaskKey())
                .setAttempt(1)).build());
        assertEquals("w-1", c.nextMatching(r -> r.getStartedCount() > 0).getStarted(0).getWorkerId());
        w.send(AttachRequest.newBuilder().addResults(WorkerTaskResult.newBuilder().setTaskKey(a.getTaskKey())
                .setAttempt(1).setStatus(TaskStatus.SUCCEEDED).setValue(ByteString.copyFromUtf8("42"))).build());
        TaskResult r = ColumnBatches.results(c.nextMatching(m -> !ColumnBatches.results(m).isEmpty())).get(0);
        assertEquals(41, r.getTaskId());
        assertEquals(TaskStatus.SUCCEEDED, r.getStatus());
        assertEquals("42", r.getValue().toStringUtf8());
        assertEquals("w-1", r.getWorkerId());

        // A second task with the same function: the worker is not sent it again.
        c.send(SessionRequest.newBuilder().addSubmits(TaskSubmit.newBuilder().setTaskId(42)
                .setSpec(TaskSpec.newBuilder().setFunctionDigest(f.getDigest()))).build());
        assertEquals(0, w.nextMatching(m -> !ColumnBatches.assigns(m).isEmpty()).getFunctionsCount());
    }

    @Test
    void aStartedNoticeWithItsResultInTheSameMessageReachesTheClientAsTheResultOnly() throws Exception {
        Peer<AttachRequest, AttachResponse> w = attachedWorker(workerHello("w", 2, 0));
        Peer<SessionRequest, SessionResponse> c = connectedClient();
        c.send(submit(1));
        c.send(submit(2));
        List<TaskAssign> assigns = new ArrayList<>();
        while (assigns.size() < 2) {
            assigns.addAll(ColumnBatches.assigns(w.nextMatching(r -> !ColumnBatches.assigns(r).isEmpty())));
        }
        TaskAssign first = assigns.get(0).getTaskKey() < assigns.get(1).getTaskKey() ? assigns.get(0) : assigns.get(1);
        TaskAssign second = first == assigns.get(0) ? assigns.get(1) : assigns.get(0);
        w.send(AttachRequest.newBuilder()
                .addStarted(WorkerTaskStarted.newBuilder().setTaskKey(first.getTaskKey()).setAttempt(1))
                .addStarted(WorkerTaskStarted.newBuilder().setTaskKey(second.getTaskKey()).setAttempt(1))
                .addResults(WorkerTaskResult.newBuilder().setTaskKey(first.getTaskKey()).setAttempt(1)
                        .setStatus(TaskStatus.SUCCEEDED))
                .build());
        List<Long> startedIds = new ArrayList<>();
        List<Long> resultIds = new ArrayList<>();
        while (startedIds.isEmpty() || resultIds.isEmpty()) {
            SessionResponse m = c.next();
            m.getStartedList().forEach(s -> startedIds.add(s.getTaskId()));
            ColumnBatches.results(m).forEach(r -> resultIds.add(r.getTaskId()));
        }
        assertEquals(List.of(1L), resultIds);
        assertEquals(List.of(2L), startedIds, "task 2 still runs; task 1's notice came with its result");
        assertEquals(1, status().getRunningTasks());
        assertEquals(1, status().getWorkers(0).getBusySlots());
    }

    @Test
    void versionMismatchIsRefusedWhileAnotherClientCarriesOn() throws Exception {
        Peer<AttachRequest, AttachResponse> w = attachedWorker("w");
        Peer<SessionRequest, SessionResponse> good = connectedClient();
        Peer<SessionRequest, SessionResponse> bad = client().send(clientHello(7));
        Status s = bad.awaitEnd();
        assertEquals(Status.Code.FAILED_PRECONDITION, s.getCode());
        assertEquals("protocol version 7 is not supported; this coordinator speaks " + Protocol.VERSION
                + " (run the same Cohort release on clients, workers and the coordinator)", s.getDescription());
        Peer<AttachRequest, AttachResponse> badWorker = worker().send(AttachRequest.newBuilder()
                .setHello(WorkerHello.newBuilder().setProtocolVersion(99).setSlots(1)).build());
        assertEquals(Status.Code.FAILED_PRECONDITION, badWorker.awaitEnd().getCode());

        good.send(submit(1));
        assertEquals(TaskStatus.SUCCEEDED, runOne(w, good).getStatus());
        assertFalse(good.ended.isDone());
    }

    @Test
    void theSchedulerRunsOnTheCoordinatorsOneNetworkThread() throws Exception {
        // One wake-up per message: the thread that reads a message schedules and writes too.
        java.util.concurrent.CompletableFuture<String> scheduler = new java.util.concurrent.CompletableFuture<>();
        server.onWorkerWelcomed(id -> scheduler.complete(Thread.currentThread().getName()));
        attachedWorker("w");
        String name = scheduler.get(10, TimeUnit.SECONDS);
        assertTrue(name.startsWith("cohort-coordinator-"), name);
    }

    @Test
    void aClientOfTheOldProtocolIsRefusedClearly() throws Exception {
        // Version 1 sent every task as a nested message; this build speaks only columns.
        Peer<SessionRequest, SessionResponse> old = client().send(clientHello(1));
        Status s = old.awaitEnd();
        assertEquals(Status.Code.FAILED_PRECONDITION, s.getCode());
        assertEquals("protocol version 1 is not supported; this coordinator speaks 2"
                + " (run the same Cohort release on clients, workers and the coordinator)", s.getDescription());
        Peer<AttachRequest, AttachResponse> oldWorker = worker().send(AttachRequest.newBuilder()
                .setHello(WorkerHello.newBuilder().setProtocolVersion(1).setSlots(1)).build());
        assertTrue(oldWorker.awaitEnd().getDescription().startsWith("protocol version 1 is not supported"));
    }

    /** A client session whose function {@code fn} is defined. */
    private Peer<SessionRequest, SessionResponse> clientWithFunction(ByteString body) throws Exception {
        Peer<SessionRequest, SessionResponse> c = connectedClient();
        c.send(SessionRequest.newBuilder().addFunctions(FunctionDef.newBuilder().setBody(body)
                .setDigest(Digests.sha256(body))).build());
        return c;
    }

    private static io.cohort.proto.v1.SubmitColumns.Builder columns(ByteString body, long firstId, ByteString... args) {
        io.cohort.proto.v1.SubmitColumns.Builder b = io.cohort.proto.v1.SubmitColumns.newBuilder()
                .addDigests(Digests.sha256(body));
        io.cohort.common.Columns.Blob blob = new io.cohort.common.Columns.Blob();
        for (int i = 0; i < args.length; i++) {
            b.addTaskIds(firstId + i).addFunction(0).addArgEnds(blob.append(args[i]))
                    .addFlags(io.cohort.common.Columns.flags(args[i], false));
        }
        return b.setArgs(blob.build());
    }

    @Test
    void columnsCarryEmptyOneByteNullAndLargeArgumentsBothWays() throws Exception {
        Peer<AttachRequest, AttachResponse> w = attachedWorker(workerHello("w", 8, 0));
        ByteString body = ByteString.copyFromUtf8("fn");
        Peer<SessionRequest, SessionResponse> c = clientWithFunction(body);
        byte[] big = new byte[200_000];   // over the aliasing threshold and the blob's copy limit
        new Random(7).nextBytes(big);
        ByteString[] args = {ByteString.EMPTY, ByteString.copyFrom(new byte[] {42}), null, ByteString.copyFrom(big),
                ByteString.copyFromUtf8("tail")};
        c.send(SessionRequest.newBuilder().setColumns(columns(body, 1, args)).build());
        List<TaskAssign> assigns = new ArrayList<>();
        while (assigns.size() < args.length) {
            assigns.addAll(ColumnBatches.assigns(w.next()));
        }
        AttachRequest.Builder back = AttachRequest.newBuilder();
        io.cohort.proto.v1.ValueColumns.Builder values = io.cohort.proto.v1.ValueColumns.newBuilder();
        io.cohort.common.Columns.Blob blob = new io.cohort.common.Columns.Blob();
        for (TaskAssign a : assigns) {
            int i = (int) a.getTaskKey() - 1;   // keys follow submission order on a fresh coordinator
            assertEquals(args[i] != null, a.getSpec().hasArgument(), "argument " + i + " present");
            if (args[i] != null) {
                assertEquals(args[i], a.getSpec().getArgument(), "argument " + i);
            }
            ByteString value = args[i];   // echo each argument as its value
            values.addTaskKeys(a.getTaskKey()).addAttempts(a.getAttempt()).addRunNanos(5)
                    .addValueEnds(blob.append(value)).addFlags(io.cohort.common.Columns.flags(value, false));
        }
        w.send(back.setValueColumns(values.setValues(blob.build())).build());
        List<TaskResult> results = new ArrayList<>();
        while (results.size() < args.length) {
            results.addAll(ColumnBatches.results(c.next()));
        }
        for (TaskResult r : results) {
            int i = (int) r.getTaskId() - 1;
            assertEquals(TaskStatus.SUCCEEDED, r.getStatus());
            assertEquals("w", r.getWorkerId());
            assertEquals(args[i] != null, r.hasValue(), "value " + i + " present");
            if (args[i] != null) {
                assertEquals(args[i], r.getValue(), "value " + i);
            }
        }
    }

    @Test
    void aBatchWhoseColumnsLieEndsThatSessionOnly() throws Exception {
        Peer<AttachRequest, AttachResponse> w = attachedWorker("w");
        Peer<SessionRequest, SessionResponse> good = connectedClient();
        ByteString body = ByteString.copyFromUtf8("fn");
        ByteString arg = ByteString.copyFromUtf8("abcd");
        java.util.Map<String, io.cohort.proto.v1.SubmitColumns> lies = new java.util.LinkedHashMap<>();
        lies.put("arg_ends[1] = 9 lies", columns(body, 1, arg, arg).setArgEnds(1, 9).build());
        lies.put("arg_ends[1] = 2 lies", columns(body, 1, arg, arg).setArgEnds(1, 2).build());
        // 2^31: as a signed int it is negative; it must not wrap into a valid range
        lies.put("arg_ends[0] = 2147483648 lies", columns(body, 1, arg).setArgEnds(0, Integer.MIN_VALUE).build());
        lies.put("arg_ends[0] = 4294967295 lies", columns(body, 1, arg).setArgEnds(0, -1).build());
        lies.put("arg_ends has 1 entries for 2 tasks", columns(body, 1, arg, arg).clearArgEnds().addArgEnds(4).build());
        lies.put("function[0] = 3 names none", columns(body, 1, arg).setFunction(0, 3).build());
        lies.put("flags has 0 entries for 1 tasks", columns(body, 1, arg).clearFlags().build());
        for (java.util.Map.Entry<String, io.cohort.proto.v1.SubmitColumns> lie : lies.entrySet()) {
            Peer<SessionRequest, SessionResponse> bad = clientWithFunction(body);
            bad.send(SessionRequest.newBuilder().setColumns(lie.getValue()).build());
            Status s = bad.awaitEnd();
            assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), lie.getKey());
            assertTrue(s.getDescription().contains(lie.getKey()), s.getDescription());
        }
        assertEquals(0, status().getQueuedTasks(), "no task of a lying batch was taken");
        good.send(submit(1));
        assertEquals(TaskStatus.SUCCEEDED, runOne(w, good).getStatus());
        assertFalse(good.ended.isDone());
        assertFalse(w.ended.isDone());
    }

    @Test
    void aWorkerWhoseValueColumnsLieIsLostAloneAndItsTaskRunsElsewhere() throws Exception {
        Peer<AttachRequest, AttachResponse> liar = attachedWorker(workerHello("liar", 1, 0));
        Peer<SessionRequest, SessionResponse> c = connectedClient();
        c.send(submit(1));
        TaskAssign a = ColumnBatches.assigns(liar.nextMatching(r -> !ColumnBatches.assigns(r).isEmpty())).get(0);
        Peer<AttachRequest, AttachResponse> honest = attachedWorker(workerHello("honest", 1, 0));
        liar.send(AttachRequest.newBuilder().setValueColumns(io.cohort.proto.v1.ValueColumns.newBuilder()
                .addTaskKeys(a.getTaskKey()).addAttempts(a.getAttempt()).addValueEnds(100).addFlags(1)
                .setValues(ByteString.copyFromUtf8("short"))).build());
        Status s = liar.awaitEnd();
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
        assertTrue(s.getDescription().contains("value_ends[0] = 100 lies"), s.getDescription());
        // Not started, so not counted as a loss: it runs on the honest worker.
        TaskResult r = runOne(honest, c);
        assertEquals(TaskStatus.SUCCEEDED, r.getStatus());
        assertEquals("honest", r.getWorkerId());
    }

    @Test
    void firstMessageMustBeHello() throws Exception {
        Peer<SessionRequest, SessionResponse> c = client().send(submit(1));
        Status s = c.awaitEnd();
        assertEquals(Status.Code.FAILED_PRECONDITION, s.getCode());
        assertTrue(s.getDescription().startsWith("expected hello"), s.getDescription());
        Peer<AttachRequest, AttachResponse> w = worker().send(AttachRequest.getDefaultInstance());
        assertEquals(Status.Code.FAILED_PRECONDITION, w.awaitEnd().getCode());
    }

    @Test
    void secondHelloIsInvalidArgument() throws Exception {
        Peer<SessionRequest, SessionResponse> c = connectedClient();
        c.send(clientHello(Protocol.VERSION));
        assertEquals(Status.Code.INVALID_ARGUMENT, c.awaitEnd().getCode());
        Peer<AttachRequest, AttachResponse> w = attachedWorker("w");
        w.send(workerHello("w"));
        assertEquals(Status.Code.INVALID_ARGUMENT, w.awaitEnd().getCode());
    }

    @Test
    void duplicateTaskIdClosesThatSessionOnly() throws Exception {
        Peer<AttachRequest, AttachResponse> w = attachedWorker("w");
        Peer<SessionRequest, SessionResponse> bad = connectedClient();
        Peer<SessionRequest, SessionResponse> good = connectedClient();
        bad.send(SessionRequest.newBuilder().addAllSubmits(submit(5).getSubmitsList())
                .addAllSubmits(submit(5).getSubmitsList()).build());
        Status s = bad.awaitEnd();
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
        assertTrue(s.getDescription().contains("duplicate task_id 5"), s.getDescription());
        good.send(submit(5));
        // The bad session's tasks were dropped while still queued: the worker sees only good's.
        assertEquals(5, runOne(w, good).getTaskId());
        assertEquals(2, status().getCompletedTasks());   // bad's dropped one and good's
    }

    @Test
    void randomBytesOnThePortDisturbNobody() throws Exception {
        Peer<AttachRequest, AttachResponse> w = attachedWorker("w");
        Peer<SessionRequest, SessionResponse> c = connectedClient();
        byte[] junk = new byte[64 * 1024];
        new Random(7).nextBytes(junk);
        for (int i = 0; i < 3; i++) {
            try (Socket socket = new Socket("127.0.0.1", server.port())) {
                socket.setSoTimeout(10_000);
                OutputStream out = socket.getOutputStream();
                InputStream in = socket.getInputStream();
                try {
                    out.write(i == 0 ? "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes() : new byte[0]);
                    out.write(junk);
                    out.flush();
                } catch (java.io.IOException closedByServer) {
                    // Expected: the server may close the connection while we write.
                }
                try {
                    while (in.read(junk) >= 0) {
                        // drain until the server closes the connection
                    }
                } catch (java.io.IOException reset) {
                    // also fine
                }
            }
            c.send(submit(i + 1));
            assertEquals(i + 1, runOne(w, c).getTaskId());
        }
    }

    @Test
    void statusAndDrain() throws Exception {
        Peer<AttachRequest, AttachResponse> w = attachedWorker("alpha");
        Peer<SessionRequest, SessionResponse> c = connectedClient();
        c.send(submit(1));
        TaskAssign a = ColumnBatches.assigns(w.nextMatching(r -> !ColumnBatches.assigns(r).isEmpty())).get(0);
        w.send(AttachRequest.newBuilder().addStarted(WorkerTaskStarted.newBuilder().setTaskKey(a.getTaskKey())
                .setAttempt(a.getAttempt())).build());
        c.nextMatching(r -> r.getStartedCount() > 0);
        StatusResponse s = status();
        assertEquals(1, s.getRunningTasks());
        assertEquals(0, s.getQueuedTasks());
        assertEquals("alpha", s.getWorkers(0).getId());
        assertEquals(1, s.getWorkers(0).getBusySlots());
        assertEquals(WorkerStatusState.ACTIVE, s.getWorkers(0).getState());

        StatusRuntimeException notFound = assertThrows(StatusRuntimeException.class, () -> AdminServiceGrpc
                .newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .drain(DrainRequest.newBuilder().setWorkerId("nobody").build()));
        assertEquals(Status.Code.NOT_FOUND, notFound.getStatus().getCode());
        AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .drain(DrainRequest.newBuilder().setWorkerId("alpha").build());
        assertEquals(WorkerStatusState.DRAINING, status().getWorkers(0).getState());
        c.send(submit(2));
        // Wait until the scheduler has seen the submit: it stays queued.
        StatusResponse after = status();
        for (int i = 0; i < 1000 && after.getQueuedTasks() == 0; i++) {
            after = status();
        }
        assertEquals(1, after.getQueuedTasks());

        // A second worker takes it; the first one leaving is seen as LOST.
        Peer<AttachRequest, AttachResponse> w2 = attachedWorker("beta");
        assertEquals(2, runOne(w2, c).getTaskId());
        w.requests.onCompleted();
        StatusResponse last = status();
        for (int i = 0; i < 1000 && last.getWorkersList().stream().noneMatch(x -> x.getState() == WorkerStatusState.LOST); i++) {
            last = status();
        }
        assertEquals(WorkerStatusState.LOST, last.getWorkers(1).getState());
        // Its running task was re-queued and went to beta.
        assertEquals(1, runOne(w2, c).getTaskId());
    }

    @Test
    void sameIdAsAnActiveWorkerIsRefused() throws Exception {
        attachedWorker("dup");
        Peer<AttachRequest, AttachResponse> again = worker().send(workerHello("dup"));
        Status s = again.awaitEnd();
        assertEquals(Status.Code.ALREADY_EXISTS, s.getCode());
    }

    @Test
    void manyTasksFlowInBatches() throws Exception {
        Peer<AttachRequest, AttachResponse> w = attachedWorker(workerHello("w", 64, 64));
        Peer<SessionRequest, SessionResponse> c = connectedClient();
        int n = 50_000;
        long t0 = System.nanoTime();
        Thread worker = new Thread(() -> {
            try {
                for (int done = 0; done < n; ) {
                    AttachRequest.Builder reply = AttachRequest.newBuilder();
                    for (TaskAssign a : ColumnBatches.assigns(w.next())) {
                        reply.addResults(WorkerTaskResult.newBuilder().setTaskKey(a.getTaskKey())
                                .setAttempt(a.getAttempt()).setStatus(TaskStatus.SUCCEEDED));
                        done++;
                    }
                    w.send(reply.build());
                }
            } catch (Throwable e) {
                w.requests.onError(e);
            }
        }, "fake-worker");
        worker.start();
        SessionRequest.Builder batch = SessionRequest.newBuilder();
        for (int i = 1; i <= n; i++) {
            batch.addAllSubmits(submit(i).getSubmitsList());
            if (i % 1000 == 0) {
                c.send(batch.build());
                batch = SessionRequest.newBuilder();
            }
        }
        int results = 0;
        int messages = 0;
        while (results < n) {
            results += ColumnBatches.results(c.next()).size();
            messages++;
        }
        System.out.printf("%d tasks through one client and one worker in %.0f ms%n", n, (System.nanoTime() - t0) / 1e6);
        worker.join(10_000);
        assertEquals(n, status().getCompletedTasks());
        assertTrue(messages < n, "results are batched");
    }

    @Test
    void closedSessionInterruptsItsRunningTask() throws Exception {
        Peer<AttachRequest, AttachResponse> w = attachedWorker("w");
        Peer<SessionRequest, SessionResponse> c = connectedClient();
        c.send(submit(1));
        TaskAssign a = ColumnBatches.assigns(w.nextMatching(r -> !ColumnBatches.assigns(r).isEmpty())).get(0);
        c.requests.onCompleted();
        assertEquals(Status.Code.OK, c.awaitEnd().getCode());
        AttachResponse cancel = w.nextMatching(r -> r.getCancelsCount() > 0);
        assertEquals(a.getTaskKey(), cancel.getCancels(0).getTaskKey());
        assertTrue(cancel.getCancels(0).getInterrupt());
    }

    @Test
    void silentWorkerIsClosedAfterTheHeartbeatTimeout() throws Exception {
        try (CoordinatorServer quick = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .heartbeatTimeout(Duration.ofMillis(300)).build())) {
            ManagedChannel ch = Grpc.newChannelBuilder(quick.target(), InsecureChannelCredentials.create()).build();
            try {
                Peer<AttachRequest, AttachResponse> w = new Peer<>(WorkerServiceGrpc.newStub(ch)::attach);
                w.send(workerHello("quiet"));
                assertEquals(300, w.next().getWelcome().getHeartbeatTimeoutMs());
                Status s = w.awaitEnd();
                assertEquals(Status.Code.UNAVAILABLE, s.getCode());
                assertTrue(s.getDescription().contains("quiet"), s.getDescription());
            } finally {
                ch.shutdownNow();
            }
        }
    }

    @Test
    void payloadFetchesWaitingForTheirOfferBeyondTheFlagAreRefused() throws Exception {
        CoordinatorServer small = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .maxWaitingPayloadFetches(1).build());
        ManagedChannel c = Grpc.newChannelBuilder(small.target(), InsecureChannelCredentials.create()).build();
        try {
            // Two fetches of payloads nobody offers: one waits (60 s), the other is refused at once.
            java.util.concurrent.CompletableFuture<Status> refused = new java.util.concurrent.CompletableFuture<>();
            for (String id : List.of("never-a", "never-b")) {
                io.cohort.proto.v1.PayloadServiceGrpc.newStub(c).fetch(io.cohort.proto.v1.FetchRequest.newBuilder()
                        .setId(id).build(), new io.grpc.stub.StreamObserver<>() {
                            @Override
                            public void onNext(io.cohort.proto.v1.PayloadChunk chunk) {
                            }

                            @Override
                            public void onError(Throwable t) {
                                refused.complete(Status.fromThrowable(t));
                            }

                            @Override
                            public void onCompleted() {
                                refused.complete(Status.OK);
                            }
                        });
            }
            Status status = refused.get(30, TimeUnit.SECONDS);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status.toString());
            assertTrue(status.getDescription().contains("--max-waiting-payload-fetches"), status.getDescription());
        } finally {
            c.shutdownNow();
            small.close();
        }
    }

    @Test
    void configRejectsBadValuesNamingTheField() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CoordinatorConfig.builder().port(70000).build())
                .getMessage().startsWith("port"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CoordinatorConfig.builder().heartbeatTimeout(Duration.ZERO).build()).getMessage()
                .startsWith("heartbeatTimeout"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CoordinatorConfig.builder().placementTimeout(Duration.ofMillis(-1)).build()).getMessage()
                .startsWith("placementTimeout"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CoordinatorConfig.builder().host(" ").build())
                .getMessage().startsWith("host"));
        assertEquals(Protocol.DEFAULT_PORT, CoordinatorConfig.DEFAULTS.port());
        assertEquals("127.0.0.1", CoordinatorConfig.DEFAULTS.host());
    }

    @Test
    void nonLoopbackHostNeedsTlsAndTokensOrInsecure() {
        // Only the refusal is tested: binding beyond loopback is not for tests.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CoordinatorServer.start(CoordinatorConfig.builder().host("0.0.0.0").port(0).build()));
        assertEquals("refusing to listen on 0.0.0.0 without TLS (--tls-cert, --tls-key) and tokens "
                + "(--client-token-file, --worker-token-file): whoever can connect can run code on the workers. "
                + "Pass --insecure to do it anyway", e.getMessage());
    }
}
