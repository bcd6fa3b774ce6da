package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.cohort.common.ChannelSecurity;
import io.cohort.common.Codec;
import io.cohort.common.ColumnBatches;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.FetchRequest;
import io.cohort.proto.v1.OfferRequest;
import io.cohort.proto.v1.OfferResponse;
import io.cohort.proto.v1.PayloadChunk;
import io.cohort.proto.v1.PayloadRef;
import io.cohort.proto.v1.PayloadServiceGrpc;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.SharedHolder;
import io.cohort.proto.v1.SharedOpenRequest;
import io.cohort.proto.v1.SharedServiceGrpc;
import io.cohort.proto.v1.SharedType;
import io.cohort.proto.v1.StatusRequest;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.TaskSubmit;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's hostile tenants: a coordinator JVM at a small heap, with tokens, two worker JVMs,
 * one good client running a 20,000-task map, and other clients on their own connections trying
 * to exhaust it at the same time. The coordinator stays up without an OutOfMemoryError, every
 * hostile request gets a clear status (never UNKNOWN or INTERNAL, always with a message), and
 * the good client's results are complete and right.
 */
@Timeout(value = 170, unit = TimeUnit.SECONDS)
class HostileTenantTest {
    private static final int MB = 1 << 20;
    private static final int BIG = 7 * MB;   // under the 8 MiB chunk threshold: travels inside the submit
    private static final int GOOD_TASKS = 20_000;

    @TempDir
    Path dir;

    private final CoordinatorProcesses coordinators = new CoordinatorProcesses();
    private final WorkerProcesses workers = new WorkerProcesses();
    /** Channels, executors and streams the test opened, closed when it ends. */
    private final List<AutoCloseable> opened = new ArrayList<>();
    private final Outcomes outcomes = new Outcomes();
    private final String clientToken = randomToken();
    private final String workerToken = randomToken();
    private Path workerTokenFile;

    @AfterEach
    void stop() {
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (Exception e) {
                System.out.println("closing " + opened.get(i) + ": " + e);
            }
        }
        workers.close();
        coordinators.close();
    }

    @Test
    void hostileTenantsNeitherExhaustTheCoordinatorNorHurtAGoodClient() throws Exception {
        int port = CoordinatorProcesses.freePort();
        String target = "127.0.0.1:" + port;
        Process coordinator = coordinator(port, "128m", "--max-tasks-per-client", "500", "--max-sessions", "100", "--max-calls-per-connection", "64",
                "--shared-max-session-objects", "50", "--max-waiting-payload-fetches", "16",
                "--heartbeat-timeout", "20s");
        workers.start(target, "w1", "--token-file", workerTokenFile.toString());
        workers.start(target, "w2", "--token-file", workerTokenFile.toString());

        CohortExecutor good = closing(Cohort.connect(sdk(target).clientName("good").build()));
        LocalClusterTest.waitUntil(() -> good.clusterInfo().workers().size() == 2, 120);

        // Every hostile tenant has its own connection, and its sessions open before the flood of sessions.
        CohortExecutor greedy = closing(Cohort.connect(sdk(target).clientName("greedy").blockWhenFull(false).build()));
        ManagedChannel rawSubmitter = channel(target, clientToken);
        RawSession submitting = closing(new RawSession(rawSubmitter, "raw-submitter"));
        assertEquals(Status.Code.OK, submitting.outcome(60).getCode());
        ManagedChannel sharedChannel = channel(target, clientToken);
        List<RawSession> sharing = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            RawSession s = closing(new RawSession(sharedChannel, "sharer-" + i));
            assertEquals(Status.Code.OK, s.outcome(60).getCode());
            sharing.add(s);
        }

        ExecutorService tenants = Executors.newFixedThreadPool(6);
        opened.add(tenants::shutdownNow);
        CountDownLatch underway = new CountDownLatch(6);
        List<Future<?>> hostile = new ArrayList<>();
        hostile.add(tenants.submit(() -> greedySdkClient(greedy, underway)));
        hostile.add(tenants.submit(() -> rawOversizedSubmits(submitting, underway)));
        hostile.add(tenants.submit(() -> sessionFlood(target, underway)));
        hostile.add(tenants.submit(() -> hugeSharedObjects(target, sharedChannel, sharing, greedy, underway)));
        hostile.add(tenants.submit(() -> unfinishedPayloads(target, underway)));
        hostile.add(tenants.submit(() -> adminCalls(target, underway)));

        // The good client starts once every tenant is at work, and checks each of its results.
        assertTrue(underway.await(60, TimeUnit.SECONDS), "the hostile tenants started");
        List<Integer> inputs = IntStream.range(0, GOOD_TASKS).boxed().toList();
        List<Long> results = new ArrayList<>(GOOD_TASKS);
        try (MapResult<Long> mapped = good.map((Integer x) -> (long) x * x + 7, inputs)) {
            for (Long r : mapped) {
                results.add(r);
            }
        }
        assertEquals(GOOD_TASKS, results.size(), "every one of the good client's results came");
        for (int i = 0; i < GOOD_TASKS; i++) {
            assertEquals((long) i * i + 7, results.get(i), "the good client's result " + i);
        }

        for (Future<?> f : hostile) {
            try {
                f.get(90, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError("a hostile tenant's own checks failed", e.getCause());
            }
        }
        System.out.println("hostile outcomes:\n" + outcomes);

        assertTrue(coordinator.isAlive(), "the coordinator is still up");
        assertFalse(coordinators.output().contains("OutOfMemoryError"), "the coordinator never ran out of memory");
        assertEquals(List.of(), outcomes.unclear(), "every hostile request got a clear status");
        // And after all that, the good client still works.
        assertEquals(42L, good.submit((Integer x) -> (long) x * 2, 21).get(60, TimeUnit.SECONDS));
    }

    // ---- 1. oversized and countless tasks

    /** Through the SDK, refusing rather than waiting: big tasks until refused, then many small ones. */
    private void greedySdkClient(CohortExecutor greedy, CountDownLatch underway) {
        underway.countDown();
        List<TaskFuture<Long>> big = new ArrayList<>();
        List<byte[]> arguments = new ArrayList<>();
        boolean refused = false;
        for (int i = 0; i < 40 && !refused; i++) {
            byte[] arg = Fingerprints.argument(1000 + i, BIG);
            try {
                big.add(greedy.submit(Fingerprints::of, arg));
                arguments.add(arg);
            } catch (RejectedExecutionException e) {
                outcomes.sdk("1 greedy big", e);
                refused = true;
            }
        }
        assertTrue(refused, "40 tasks of 7 MB were not all taken in");
        assertTrue(outcomes.saw("1 greedy big", "RejectedExecutionException", "--max-task-bytes"),
                "refused naming the byte budget: " + outcomes.of("1 greedy big"));
        List<TaskFuture<Long>> small = new ArrayList<>();
        boolean counted = false;
        for (int i = 0; i < 5_000 && !counted; i++) {
            try {
                small.add(greedy.submit((Integer x) -> (long) x, i));
            } catch (RejectedExecutionException e) {
                outcomes.sdk("1 greedy countless", e);
                counted = true;
            }
        }
        assertTrue(outcomes.saw("1 greedy countless", "RejectedExecutionException", "--max-tasks-per-client"),
                "refused naming the task limit: " + outcomes.of("1 greedy countless"));
        // What was taken in runs, or is refused by the coordinator with a reason.
        for (int i = 0; i < big.size(); i++) {
            Long v = settle("1 greedy big", big.get(i));
            if (v != null) {
                assertEquals(Fingerprints.of(arguments.get(i)), v, "greedy big task " + i);
            }
        }
        for (int i = 0; i < small.size(); i++) {
            Long v = settle("1 greedy countless", small.get(i));
            if (v != null) {
                assertEquals(i, v, "greedy small task " + i);
            }
        }
    }

    /** A future's value, or null after recording why it failed. */
    private <T> T settle(String category, TaskFuture<T> f) {
        try {
            return f.get(90, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            outcomes.sdk(category, e.getCause());
            return null;
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError("a " + category + " task never ended", e);
        }
    }

    /** A raw session that ignores the byte budget it was told: 40 submits of 7 MB, sent without waiting. */
    private void rawOversizedSubmits(RawSession s, CountDownLatch underway) {
        Codec codec = Codec.standard();
        ByteString body = codec.encode(new Fingerprints.Body());
        byte[] arg = Fingerprints.argument(7, BIG);
        ByteString encoded = codec.encode(arg);
        assertTrue(s.welcome.join().getMaxTaskBytesInFlight() > 0, "the coordinator told its byte budget");
        underway.countDown();
        int n = 40;
        for (int i = 1; i <= n; i++) {
            s.requests.onNext(SessionRequest.newBuilder().addSubmits(TaskSubmit.newBuilder().setTaskId(i)
                    .setSpec(TaskSpec.newBuilder().setBody(body).setArgument(encoded))).build());
        }
        Set<Long> answered = new TreeSet<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (answered.size() < n && System.nanoTime() < deadline) {
            TaskResult r;
            try {
                r = s.results.poll(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            if (r == null) {
                assertFalse(s.ended.isDone(), () -> "the raw session ended: " + s.ended.join());
                continue;
            }
            assertTrue(answered.add(r.getTaskId()), "one result per task");
            if (r.getStatus() == TaskStatus.SUCCEEDED) {
                assertEquals(Fingerprints.of(arg), (Long) codec.decode(r.getValue(), getClass().getClassLoader()));
                outcomes.ok("1 raw big", "ran");
            } else {
                assertEquals(TaskStatus.REJECTED, r.getStatus(), r.getError().toString());
                outcomes.add("1 raw big", "REJECTED " + r.getError().getClassName() + ": " + r.getError().getMessage());
            }
        }
        assertEquals(n, answered.size(), "every oversized submit was answered");
        assertTrue(outcomes.saw("1 raw big", "REJECTED java.util.concurrent.RejectedExecutionException",
                "--max-task-bytes"), "refused naming the byte budget: " + outcomes.of("1 raw big"));
    }

    // ---- 2. sessions opened in a loop, and more calls than a connection may have

    private void sessionFlood(String target, CountDownLatch underway) {
        ManagedChannel loop = channel(target, clientToken);
        underway.countDown();
        // Hello, then away: half cancel their stream, half end it.
        for (int i = 0; i < 300; i++) {
            RawSession s = new RawSession(loop, "flood-" + i);
            outcomes.status("2 session loop", s.outcome(30));
            if (i % 2 == 0) {
                s.cancel();
            } else {
                s.halfClose();
            }
        }
        // More sessions held open than the coordinator allows (100): 4 connections of 30 streams.
        List<RawSession> many = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            ManagedChannel more = channel(target, clientToken);
            for (int i = 0; i < 30; i++) {
                many.add(new RawSession(more, "many-" + c + "-" + i));
            }
        }
        for (RawSession s : many) {
            outcomes.status("2 sessions held", s.outcome(60));
        }
        many.forEach(RawSession::cancel);
        assertTrue(outcomes.saw("2 sessions held", "RESOURCE_EXHAUSTED", "--max-sessions"),
                outcomes.of("2 sessions held").toString());
        // More calls than one connection may have (64): 80 streams held open on one connection.
        ManagedChannel burst = channel(target, clientToken);
        List<RawSession> streams = new ArrayList<>();
        for (int i = 0; i < 80; i++) {
            streams.add(new RawSession(burst, "burst-" + i));
        }
        waitFor(() -> streams.stream().filter(RawSession::answered).count() >= 64, 60,
                "the first 64 streams of the burst are answered");
        List<RawSession> answered = streams.stream().filter(RawSession::answered).toList();
        assertTrue(answered.size() <= 64, answered.size() + " calls at once on one connection");
        for (RawSession s : answered) {
            outcomes.status("2 calls burst", s.outcome(1));
        }
        // The calls past the cap wait for room inside the client's own connection (HTTP/2
        // MAX_CONCURRENT_STREAMS): they never reach the coordinator, which answered the rest.
        streams.forEach(RawSession::cancel);
        assertEquals(answered.size(), outcomes.of("2 calls burst").size());
        RawSession after = new RawSession(channel(target, clientToken), "after-the-burst");
        outcomes.status("2 calls burst", after.outcome(60));
        after.cancel();
        assertTrue(outcomes.of("2 calls burst").get(answered.size()).startsWith("OK: welcomed"),
                "a new connection is served after the burst: " + outcomes.of("2 calls burst"));
    }

    // ---- 3. huge shared objects, under made-up sessions and under its own

    private void hugeSharedObjects(String target, ManagedChannel asClient, List<RawSession> own,
                                   CohortExecutor greedy, CountDownLatch underway) {
        ManagedChannel asWorker = channel(target, workerToken);
        underway.countDown();
        String real = own.get(0).welcome.join().getSessionId();
        for (String made : List.of("", "s-made-up", real + "x", "s-" + Long.toString(42, 36))) {
            outcomes.call("3 shared made-up", () -> shared(asClient).open(array(made, "big", 8_000_000).build()));
            outcomes.call("3 shared made-up", () -> shared(asWorker).open(array(made, "big", 8_000_000)
                    .setHolder(SharedHolder.newBuilder().setWorkerId("w-made-up")).build()));
        }
        // A worker token cannot act for a session none of whose tasks it runs, even a real one.
        outcomes.call("3 shared made-up", () -> shared(asWorker).open(array(real, "big", 1000)
                .setHolder(SharedHolder.newBuilder().setWorkerId("w1")).build()));
        // Its own sessions: too large at once, then more than a session, then more than all may hold.
        String first = own.get(0).welcome.join().getSessionId();
        outcomes.call("3 shared own", () -> shared(asClient).open(array(first, "huge", 8_000_000).build()));
        outcomes.call("3 shared own", () -> shared(asClient).open(array(first, "max", Integer.MAX_VALUE - 8).build()));
        for (RawSession s : own) {
            String id = s.welcome.join().getSessionId();
            for (int i = 0; i < 3; i++) {
                int k = i;
                outcomes.call("3 shared own", () -> shared(asClient).open(array(id, "a" + k, 900_000).build()));
            }
        }
        String last = own.get(2).welcome.join().getSessionId();
        for (int i = 0; i < 60; i++) {
            int k = i;
            outcomes.call("3 shared own", () -> shared(asClient).open(SharedOpenRequest.newBuilder().setSessionId(last)
                    .setName("n" + k).setType(SharedType.SHARED_LONG).build()));
        }
        for (String flag : List.of("--shared-max-object-bytes", "--shared-max-session-bytes",
                "--shared-max-total-bytes", "--shared-max-session-objects")) {
            assertTrue(outcomes.saw("3 shared own", "RESOURCE_EXHAUSTED", flag), flag + ": " + outcomes.of("3 shared own"));
        }
        assertEquals(9, outcomes.of("3 shared made-up").stream().filter(o -> o.startsWith("PERMISSION_DENIED")).count(),
                outcomes.of("3 shared made-up").toString());
        // Through the SDK: IllegalStateException naming the flag.
        try {
            greedy.sharedLongArray("huge", 8_000_000);
            fail("a shared array of 64 MB was opened");
        } catch (IllegalStateException e) {
            outcomes.sdk("3 shared sdk", e);
        }
        assertTrue(outcomes.saw("3 shared sdk", "IllegalStateException", "--shared-max-object-bytes"),
                outcomes.of("3 shared sdk").toString());
    }

    private static SharedOpenRequest.Builder array(String session, String name, long length) {
        return SharedOpenRequest.newBuilder().setSessionId(session).setName(name).setType(SharedType.SHARED_LONG_ARRAY)
                .setLongArg(length);
    }

    private static SharedServiceGrpc.SharedServiceBlockingStub shared(ManagedChannel ch) {
        return SharedServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    // ---- 4. payloads offered and never finished, fetches of payloads never offered

    private void unfinishedPayloads(String target, CountDownLatch underway) {
        ManagedChannel sender = channel(target, clientToken);
        ManagedChannel fetcher = channel(target, clientToken);
        underway.countDown();
        // Offered as 64 MB, 2 MB sent, then the sender goes.
        Offerer gone = new Offerer(sender, randomToken(), 64L * MB);
        Fetcher first = new Fetcher(fetcher, gone.id);
        long fetchId = await(gone.fetchIds, 60, "the first fetch reaches the sender");
        gone.send(fetchId, MB, false);
        gone.send(fetchId, MB, false);
        waitFor(() -> first.bytes.get() > 0, 60, "chunks reach the fetcher");
        gone.call.cancel("the hostile sender goes away", null);
        outcomes.status("4 payload unfinished", first.outcome(60));
        // Offered as 8 MB, 1 MB sent as if it were all.
        Offerer short_ = new Offerer(sender, randomToken(), 8L * MB);
        Fetcher second = new Fetcher(fetcher, short_.id);
        short_.send(await(short_.fetchIds, 60, "the second fetch reaches the sender"), MB, true);
        outcomes.status("4 payload unfinished", second.outcome(60));
        assertTrue(outcomes.saw("4 payload unfinished", "UNAVAILABLE", "went away"), outcomes.of("4 payload unfinished")
                .toString());
        assertTrue(outcomes.saw("4 payload unfinished", "DATA_LOSS", "truncated"), outcomes.of("4 payload unfinished")
                .toString());
        short_.call.cancel("done", null);
        // Offers nobody fetches, held open; fetches of payloads nobody offers, past the limit of 16.
        List<Offerer> idle = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            idle.add(new Offerer(sender, randomToken(), 1L << 40));
        }
        List<Fetcher> nothing = new ArrayList<>();
        for (int i = 0; i < 26; i++) {
            nothing.add(new Fetcher(fetcher, randomToken()));
        }
        waitFor(() -> nothing.stream().filter(f -> f.ended.isDone()).count() >= 10, 60,
                "the fetches past the limit are refused");
        for (Fetcher f : nothing) {
            if (f.ended.isDone()) {
                outcomes.status("4 payload never offered", f.ended.join());
            } else {
                f.call.cancel("the hostile fetcher stops waiting", null);
            }
        }
        assertTrue(outcomes.saw("4 payload never offered", "RESOURCE_EXHAUSTED", "--max-waiting-payload-fetches"),
                outcomes.of("4 payload never offered").toString());
        for (Offerer o : idle) {
            assertFalse(o.ended.isDone(), () -> "an idle offer ended: " + o.ended.join());
            o.call.cancel("done", null);
        }
    }

    // ---- 5. every admin RPC, with each token and with none

    private void adminCalls(String target, CountDownLatch underway) {
        ManagedChannel asClient = channel(target, clientToken);
        ManagedChannel asWorker = channel(target, workerToken);
        ManagedChannel anonymous = channel(target, null);
        ManagedChannel wrong = channel(target, randomToken());
        underway.countDown();
        List<String> methods = new ArrayList<>();
        for (MethodDescriptor<?, ?> m : AdminServiceGrpc.getServiceDescriptor().getMethods()) {
            methods.add(m.getBareMethodName());
            // A client may see the status; draining is the admin token's, and this coordinator has none.
            outcomes.call("5 admin client " + m.getBareMethodName(), () -> unary(asClient, m));
            outcomes.call("5 admin worker", () -> unary(asWorker, m));
            outcomes.call("5 admin none", () -> unary(anonymous, m));
            outcomes.call("5 admin wrong", () -> unary(wrong, m));
        }
        assertTrue(methods.containsAll(List.of("Status", "Drain")), methods.toString());
        assertEquals(List.of("OK: answered"), outcomes.of("5 admin client Status"));
        assertTrue(outcomes.saw("5 admin client Drain", "PERMISSION_DENIED", "--admin-token-file"),
                outcomes.of("5 admin client Drain").toString());
        assertAll("5 admin worker", "PERMISSION_DENIED", methods.size());
        assertAll("5 admin none", "UNAUTHENTICATED", methods.size());
        assertAll("5 admin wrong", "UNAUTHENTICATED", methods.size());
        // The other services check roles the same way.
        outcomes.call("5 roles", () -> {
            RawSession s = new RawSession(asWorker, "worker-as-client");
            Status st = s.outcome(30);
            throw st.asRuntimeException();
        });
        outcomes.call("5 roles", () -> {
            Ending<AttachResponse> attach = new Ending<>() {
                @Override
                public void onNext(AttachResponse r) {
                    ended.complete(Status.OK.withDescription("welcomed"));
                }
            };
            StreamObserver<AttachRequest> req = WorkerServiceGrpc.newStub(asClient).attach(attach);
            req.onNext(AttachRequest.newBuilder().setHello(WorkerHello.newBuilder().setProtocolVersion(Protocol.VERSION)
                    .setWorkerId("client-as-worker").setHost("localhost").setPid(1).setSlots(8)).build());
            Status st = await(attach.ended, 30, "attach with the client token is answered");
            req.onError(new IllegalStateException("done"));
            throw st.asRuntimeException();
        });
        assertAll("5 roles", "PERMISSION_DENIED", 2);
        outcomes.call("5 roles none", () -> shared(anonymous).open(array("s-x", "a", 1).build()));
        outcomes.call("5 roles none", () -> PayloadServiceGrpc.newBlockingStub(anonymous)
                .withDeadlineAfter(30, TimeUnit.SECONDS).fetch(FetchRequest.newBuilder().setId("x").build()).hasNext());
        assertAll("5 roles none", "UNAUTHENTICATED", 2);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object unary(ManagedChannel ch, MethodDescriptor m) {
        Message request = (Message) ((MethodDescriptor.PrototypeMarshaller) m.getRequestMarshaller()).getMessagePrototype();
        return ClientCalls.blockingUnaryCall(ch, m, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS),
                request.getDefaultInstanceForType());
    }

    private void assertAll(String category, String code, int n) {
        List<String> seen = outcomes.of(category);
        assertEquals(n, seen.size(), seen.toString());
        assertTrue(seen.stream().allMatch(o -> o.startsWith(code + ":")), category + ": " + seen);
    }

    // ---- the original finding, on its own

    /**
     * Issue 13's first probe: 40 tasks of 7 MB submitted with the SDK to a coordinator at
     * {@code -Xmx256m} with no worker gave it OutOfMemoryErrors. Now a client that may not wait
     * is refused naming the budget, a client that may (the default) waits within it, and a
     * worker attaching later runs everything.
     */
    @Test
    void fortyTasksOfSevenMegabytesWithNoWorkerWaitWithinTheBudget() throws Exception {
        int port = CoordinatorProcesses.freePort();
        String target = "127.0.0.1:" + port;
        Process coordinator = coordinator(port, "256m", "--placement-timeout", "300s");
        ManagedChannel admin = channel(target, clientToken);
        int n = 40;

        CohortExecutor refusing = closing(Cohort.connect(sdk(target).blockWhenFull(false).build()));
        List<TaskFuture<Long>> taken = new ArrayList<>();
        RejectedExecutionException refused = null;
        for (int i = 0; i < n && refused == null; i++) {
            try {
                taken.add(refusing.submit(Fingerprints::of, Fingerprints.argument(i, BIG)));
            } catch (RejectedExecutionException e) {
                refused = e;
            }
        }
        assertNotNull(refused, "40 tasks of 7 MB were all taken in by a 256 MB coordinator");
        assertTrue(refused.getMessage().contains("--max-task-bytes-per-client"), refused.getMessage());
        assertFalse(taken.isEmpty(), "a task within the budget was taken");
        int refusingTaken = taken.size();
        waitFor(() -> status(admin).getQueuedTasks() == refusingTaken, 60, "the taken tasks are queued");

        CohortExecutor waiting = closing(Cohort.connect(sdk(target).build()));
        List<TaskFuture<Long>> all = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger submitted = new java.util.concurrent.atomic.AtomicInteger();
        Thread submitter = new Thread(() -> {
            for (int i = 0; i < n; i++) {
                all.add(waiting.submit(Fingerprints::of, Fingerprints.argument(100 + i, BIG)));
                submitted.incrementAndGet();
            }
        }, "submitter");
        submitter.setDaemon(true);
        submitter.start();
        // It waits within its budget: parked in submit with some of its tasks queued, the coordinator up.
        waitFor(() -> submitter.getState() == Thread.State.WAITING && submitted.get() > 0
                && status(admin).getQueuedTasks() == refusingTaken + submitted.get(), 60, "the submitter waits for room");
        assertTrue(submitted.get() < n, "the client kept under its budget");
        assertTrue(coordinator.isAlive());

        workers.start(target, "late", "--token-file", workerTokenFile.toString());
        submitter.join(TimeUnit.SECONDS.toMillis(150));
        assertFalse(submitter.isAlive(), "every submit got room once a worker ran tasks");
        for (int i = 0; i < n; i++) {
            assertEquals(Fingerprints.of(Fingerprints.argument(100 + i, BIG)), all.get(i).get(120, TimeUnit.SECONDS), "task " + i);
        }
        for (int i = 0; i < refusingTaken; i++) {
            assertEquals(Fingerprints.of(Fingerprints.argument(i, BIG)), taken.get(i).get(120, TimeUnit.SECONDS), "taken task " + i);
        }
        assertTrue(coordinator.isAlive(), "the coordinator is still up");
        assertFalse(coordinators.output().contains("OutOfMemoryError"), "the coordinator never ran out of memory");
    }

    private static io.cohort.proto.v1.StatusResponse status(ManagedChannel ch) {
        return AdminServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                .status(StatusRequest.getDefaultInstance());
    }

    // ---- plumbing

    /**
     * A coordinator JVM on {@code port} at this max heap that exits on OutOfMemoryError, with no
     * journal and both tokens (the worker's in {@link #workerTokenFile}), and these flags.
     */
    private Process coordinator(int port, String maxHeap, String... flags) throws java.io.IOException {
        Path clientTokenFile = CoordinatorProcesses.tokenFile(dir, "client.token", clientToken);
        workerTokenFile = CoordinatorProcesses.tokenFile(dir, "worker.token", workerToken);
        List<String> all = new ArrayList<>(List.of("--port", Integer.toString(port), "--journal", "off",
                "--client-token-file", clientTokenFile.toString(), "--worker-token-file", workerTokenFile.toString()));
        all.addAll(List.of(flags));
        return coordinators.start(List.of("-Xmx" + maxHeap, "-XX:+ExitOnOutOfMemoryError"), all.toArray(String[]::new));
    }

    private ClientConfig.Builder sdk(String target) {
        return ClientConfig.builder().target(target).authToken(clientToken).connectTimeout(Duration.ofSeconds(60));
    }

    /** A connection of its own, with this token (null: none). */
    private ManagedChannel channel(String target, String token) {
        ManagedChannel ch = new ChannelSecurity(null, null, null, token).channelBuilder(target).build();
        opened.add(() -> ch.shutdownNow().awaitTermination(10, TimeUnit.SECONDS));
        return ch;
    }

    private <T extends AutoCloseable> T closing(T t) {
        opened.add(t);
        return t;
    }

    private static String randomToken() {
        byte[] b = new byte[16];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, int seconds, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }

    private static <T> T await(CompletableFuture<T> f, int seconds, String what) {
        try {
            return f.get(seconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("timed out waiting until " + what, e);
        } catch (InterruptedException | ExecutionException e) {
            throw new AssertionError(what, e);
        }
    }

    /**
     * What the hostile requests got, by category: "CODE: description" for a status,
     * "OK: what" for an answer, "Exception: message" for an SDK refusal.
     */
    private static final class Outcomes {
        private final Map<String, Queue<String>> seen = new ConcurrentHashMap<>();

        void add(String category, String outcome) {
            seen.computeIfAbsent(category, k -> new ConcurrentLinkedQueue<>()).add(outcome);
        }

        void ok(String category, String what) {
            add(category, "OK: " + what);
        }

        void status(String category, Status s) {
            add(category, s.getCode() == Status.Code.OK ? "OK: " + (s.getDescription() == null ? "answered"
                    : s.getDescription()) : s.getCode() + ": " + s.getDescription());
        }

        void sdk(String category, Throwable t) {
            add(category, t.getClass().getSimpleName() + ": " + t.getMessage());
        }

        /** Runs one raw call and records what it got. */
        void call(String category, Runnable call) {
            try {
                call.run();
                ok(category, "answered");
            } catch (StatusRuntimeException e) {
                status(category, e.getStatus());
            }
        }

        List<String> of(String category) {
            return List.copyOf(seen.getOrDefault(category, new ConcurrentLinkedQueue<>()));
        }

        boolean saw(String category, String kind, String fragment) {
            return of(category).stream().anyMatch(o -> o.startsWith(kind + ":") || o.startsWith(kind + " ")
                    ? o.contains(fragment) : false);
        }

        boolean sawCode(List<Status> statuses, Status.Code code, String fragment) {
            return statuses.stream().anyMatch(s -> s.getCode() == code && s.getDescription() != null
                    && s.getDescription().contains(fragment));
        }

        /** Outcomes that are not clear: UNKNOWN or INTERNAL, or an error without a message. */
        List<String> unclear() {
            List<String> bad = new ArrayList<>();
            seen.forEach((category, list) -> {
                for (String o : list) {
                    if (o.startsWith("UNKNOWN") || o.startsWith("INTERNAL") || o.endsWith(": null") || o.endsWith(": ")) {
                        bad.add(category + " -> " + o);
                    }
                }
            });
            return bad;
        }

        /** An outcome without its ids and numbers, so that alike ones are counted together. */
        private static String shape(String o) {
            String s = o.replaceAll("s-[0-9a-z]{8,}", "s-ID").replaceAll("[0-9a-f]{32}", "ID").replaceAll("\\d+", "N");
            return s.length() > 200 ? s.substring(0, 200) + "..." : s;
        }

        @Override
        public String toString() {
            return new java.util.TreeMap<>(seen).entrySet().stream()
                    .map(e -> "  " + e.getKey() + ": " + e.getValue().size() + " x "
                            + e.getValue().stream().map(Outcomes::shape)
                                    .collect(Collectors.groupingBy(o -> o, java.util.TreeMap::new, Collectors.counting())))
                    .collect(Collectors.joining("\n"));
        }
    }

    /** A raw client session stream: its welcome (or the status that ended it) and results. */
    private static final class RawSession implements ClientResponseObserver<SessionRequest, SessionResponse>, AutoCloseable {
        final CompletableFuture<io.cohort.proto.v1.ClientWelcome> welcome = new CompletableFuture<>();
        final CompletableFuture<Status> ended = new CompletableFuture<>();
        final LinkedBlockingQueue<TaskResult> results = new LinkedBlockingQueue<>();
        ClientCallStreamObserver<SessionRequest> requests;
        private volatile boolean cancelled;
        final String name;

        RawSession(ManagedChannel channel, String name) {
            this.name = name;
            ClientServiceGrpc.newStub(channel).session(this);
            requests.onNext(SessionRequest.newBuilder().setHello(ClientHello.newBuilder()
                    .setProtocolVersion(Protocol.VERSION).setClientName(name)).build());
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<SessionRequest> call) {
            requests = call;
        }

        @Override
        public void onNext(SessionResponse r) {
            if (r.hasWelcome()) {
                welcome.complete(r.getWelcome());
            }
            results.addAll(ColumnBatches.results(r));
        }

        @Override
        public void onError(Throwable t) {
            ended.complete(Status.fromThrowable(t));
            welcome.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
            ended.complete(Status.OK.withDescription("ended by the coordinator"));
            welcome.completeExceptionally(new IllegalStateException("ended without a welcome"));
        }

        boolean answered() {
            return welcome.isDone();
        }

        /** OK with the session id once welcomed, or the status that ended it; fails if neither comes in time. */
        Status outcome(int seconds) {
            try {
                return Status.OK.withDescription("welcomed " + welcome.get(seconds, TimeUnit.SECONDS).getSessionId());
            } catch (ExecutionException e) {
                return ended.join();
            } catch (TimeoutException e) {
                throw new AssertionError("a session stream got neither a welcome nor a status in " + seconds + " s", e);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }

        void cancel() {
            cancelled = true;
            requests.cancel("abandoned by the test", null);
        }

        void halfClose() {
            cancelled = true;
            try {
                requests.onCompleted();
            } catch (IllegalStateException alreadyEnded) {
                // refused before
            }
        }

        boolean isCancelled() {
            return cancelled;
        }

        @Override
        public void close() {
            if (!cancelled) {
                cancel();
            }
        }
    }

    /** A call's responses, kept for the status it ends with. */
    private abstract static class Ending<T> implements StreamObserver<T> {
        final CompletableFuture<Status> ended = new CompletableFuture<>();

        @Override
        public void onError(Throwable t) {
            ended.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            ended.complete(Status.OK.withDescription("completed"));
        }
    }

    /** A raw payload offer: the fetch ids the coordinator asks for, and chunks sent on demand. */
    private static final class Offerer extends Ending<OfferResponse>
            implements ClientResponseObserver<OfferRequest, OfferResponse> {
        final String id;
        final CompletableFuture<Long> fetchIds = new CompletableFuture<>();
        ClientCallStreamObserver<OfferRequest> call;

        Offerer(ManagedChannel channel, String id, long size) {
            this.id = id;
            PayloadServiceGrpc.newStub(channel).offer(this);
            call.onNext(OfferRequest.newBuilder().setRef(PayloadRef.newBuilder().setId(id).setSize(size)).build());
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<OfferRequest> c) {
            call = c;
        }

        void send(long fetchId, int bytes, boolean last) {
            call.onNext(OfferRequest.newBuilder().setFetchId(fetchId).setData(ByteString.copyFrom(new byte[bytes]))
                    .setLast(last).build());
        }

        @Override
        public void onNext(OfferResponse r) {
            if (r.getFetchId() != 0) {
                fetchIds.complete(r.getFetchId());
            }
        }

    }

    /** A raw payload fetch: bytes received, and the status it ended with. */
    private static final class Fetcher extends Ending<PayloadChunk>
            implements ClientResponseObserver<FetchRequest, PayloadChunk> {
        final java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();
        ClientCallStreamObserver<FetchRequest> call;

        Fetcher(ManagedChannel channel, String id) {
            PayloadServiceGrpc.newStub(channel).fetch(FetchRequest.newBuilder().setId(id).build(), this);
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<FetchRequest> c) {
            call = c;
        }

        @Override
        public void onNext(PayloadChunk c) {
            bytes.addAndGet(c.getData().size());
        }


        Status outcome(int seconds) {
            return await(ended, seconds, "a payload fetch ends");
        }
    }
}
