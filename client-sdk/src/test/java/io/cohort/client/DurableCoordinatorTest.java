package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.Codec;
import io.cohort.common.ColumnBatches;
import io.cohort.common.Protocol;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.StatusRequest;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.TaskSubmit;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator with a journal is killed with kill -9 and started again on its port over the
 * same directory: the tasks it had accepted run, the results it held are handed over, and
 * clients carry on in the same session. Coordinator and workers are real JVMs.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DurableCoordinatorTest {
    @TempDir
    Path dir;

    /** Coordinator JVMs started by the test, killed by pid when it ends. */
    private final CoordinatorProcesses coordinators = new CoordinatorProcesses();

    private static final class Square implements TaskBody {
        @Override
        public Object call(Object input) {
            return ((Integer) input) * ((Integer) input);
        }
    }

    @Test
    void acceptedTasksAndHeldResultsSurviveKillNineOfTheCoordinator() throws Exception {
        int port = CoordinatorProcesses.freePort();
        String target = "127.0.0.1:" + port;
        Codec codec = Codec.standard();
        ByteString body = codec.encode(new Square());
        int tasks = 30;

        Process first = coordinator(port);
        ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
        try (WorkerProcesses workers = new WorkerProcesses()) {
            // A raw session (no SDK, so nothing is sent again): 30 tasks, no worker to run them.
            RawSession one = new RawSession(channel, "");
            String sessionId = one.welcome.get(30, TimeUnit.SECONDS).getWelcome().getSessionId();
            SessionRequest.Builder batch = SessionRequest.newBuilder();
            for (int i = 1; i <= tasks; i++) {
                batch.addSubmits(TaskSubmit.newBuilder().setTaskId(i).setSpec(TaskSpec.newBuilder().setBody(body)
                        .setArgument(codec.encode(i))));
            }
            one.requests.onNext(batch.build());
            awaitStatus(channel, s -> s.getQueuedTasks() == tasks, "30 tasks queued");

            kill(first);
            Process second = coordinator(port);
            // Before any client or worker has come back, it holds them again.
            StatusResponse recovered = awaitStatus(channel, s -> true, "the restarted coordinator answers");
            assertEquals(tasks, recovered.getQueuedTasks(), "recovered from the journal");

            // A worker runs them while the session has no stream: the results are held for it.
            workers.start(target, "w1");
            awaitStatus(channel, s -> s.getCompletedTasks() == tasks, "all 30 tasks ran");

            kill(second);
            workers.close();
            coordinator(port);
            StatusResponse third = awaitStatus(channel, s -> true, "the third coordinator answers");
            assertEquals(0, third.getQueuedTasks() + third.getRunningTasks());
            assertEquals(0, third.getWorkersCount(), "no worker: whatever comes back was held in the journal");

            RawSession resumed = new RawSession(channel, sessionId);
            SessionResponse welcome = resumed.welcome.get(30, TimeUnit.SECONDS);
            assertTrue(welcome.getWelcome().getResumed());
            assertEquals(sessionId, welcome.getWelcome().getSessionId());
            Map<Long, Integer> values = new TreeMap<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (values.size() < tasks && System.nanoTime() < deadline) {
                TaskResult r = resumed.results.poll(1, TimeUnit.SECONDS);
                if (r != null) {
                    assertEquals(TaskStatus.SUCCEEDED, r.getStatus(), r.toString());
                    assertEquals(null, values.put(r.getTaskId(), (Integer) codec.decode(r.getValue(), getClass().getClassLoader())),
                            "one result per task");
                }
            }
            assertEquals(tasks, values.size());
            values.forEach((id, v) -> assertEquals((int) (id * id), v));
        } finally {
            channel.shutdownNow();
            coordinators.close();
        }
    }

    @Test
    void aClientCarriesOnInTheSameSessionAcrossAKilledCoordinator() throws Exception {
        int port = CoordinatorProcesses.freePort();
        String target = "127.0.0.1:" + port;
        Process first = coordinator(port);
        try (WorkerProcesses workers = new WorkerProcesses(); Gate gate = new Gate()) {
            workers.start(target, "w1");
            workers.start(target, "w2");
            try (CohortExecutor cohort = Cohort.connect(ClientConfig.builder().target(target)
                    .reconnectTimeout(Duration.ofSeconds(90)).build())) {
                // two fresh worker JVMs: on a loaded 2-core machine they can take well over 20 s to attach
                LocalClusterTest.waitUntil(() -> cohort.clusterInfo().workers().size() == 2, 90);
                String sessionId = ((RemoteExecutor) cohort).session().sessionId();
                Gate.Handle h = gate.handle();
                List<TaskFuture<Integer>> futures = new ArrayList<>();
                Map<Integer, Integer> completions = new ConcurrentHashMap<>();
                for (int i = 0; i < 200; i++) {
                    TaskFuture<Integer> f = cohort.submit((Integer x) -> {
                        if (x % 50 == 0) {
                            h.pass();   // some wait until after the restart
                        }
                        return x + 1000;
                    }, i);
                    f.whenComplete((v, e) -> completions.merge(v == null ? -1 : v, 1, Integer::sum));
                    futures.add(f);
                }
                assertTrue(gate.awaitArrivals(2, 60), "tasks are running");
                kill(first);
                coordinator(port);
                gate.open();
                for (int i = 0; i < 200; i++) {
                    assertEquals(i + 1000, futures.get(i).get(90, TimeUnit.SECONDS));
                }
                assertEquals(sessionId, ((RemoteExecutor) cohort).session().sessionId(), "the session was resumed");
                assertEquals(7, cohort.submit(() -> 7).get(60, TimeUnit.SECONDS));
                LocalClusterTest.waitUntil(() -> completions.size() == 200);
                assertFalse(completions.containsKey(-1), "no future failed");
                completions.forEach((v, n) -> assertEquals(1, n, "future of " + v + " completed once"));
            }
        } finally {
            coordinators.close();
        }
    }

    /**
     * More task bytes than the coordinator's heap were accepted (in two lives of the coordinator,
     * each holding half), then it is killed: it starts again at the same small heap, since
     * recovery leaves large arguments on disk until a worker fetches them, and every task runs
     * with its own argument.
     */
    @Test
    void aCoordinatorRecoversMoreAcceptedTaskBytesThanItsHeapAtThatHeap() throws Exception {
        List<String> heap = List.of("-Xmx64m");
        int size = 4 << 20;
        int perLife = 8;   // 32 MiB queued in each life, 64 MiB in all: as much as the heap
        int port = CoordinatorProcesses.freePort();
        String target = "127.0.0.1:" + port;
        ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
        Codec codec = Codec.standard();
        ByteString body = codec.encode(new Fingerprints.Body());
        try (WorkerProcesses workers = new WorkerProcesses()) {
            List<String> sessionIds = new ArrayList<>();
            // The operator lets it hold half its heap in tasks (the default budget is 40%): more
            // than that is accepted in two lives, and recovered at once.
            String[] flags = {"--session-grace", "600s", "--max-task-bytes", "40m", "--max-task-bytes-per-client", "40m"};
            Process life = coordinator(port, heap, flags);
            long taskId = 0;
            for (int round = 1; round <= 2; round++) {
                RawSession raw = new RawSession(channel, "");
                sessionIds.add(raw.welcome.get(60, TimeUnit.SECONDS).getWelcome().getSessionId());
                for (int i = 0; i < perLife; i++) {
                    taskId++;
                    raw.requests.onNext(SessionRequest.newBuilder().addSubmits(TaskSubmit.newBuilder().setTaskId(taskId)
                            .setSpec(TaskSpec.newBuilder().setBody(body).setArgument(codec.encode(Fingerprints.argument(taskId, size)))))
                            .build());
                }
                int expected = round * perLife;
                awaitStatus(channel, s -> s.getQueuedTasks() == expected, expected + " tasks queued");
                kill(life);
                life = coordinator(port, heap, flags);
                StatusResponse recovered = awaitStatus(channel, s -> true, "the restarted coordinator answers");
                assertEquals(expected, recovered.getQueuedTasks(), "recovered from the journal");
            }
            int total = 2 * perLife;
            workers.start(target, "w1");
            awaitStatus(channel, s -> s.getCompletedTasks() == total, "all " + total + " tasks ran");
            assertTrue(life.isAlive(), "the coordinator is still up");

            Map<Long, Long> values = new TreeMap<>();
            for (String sessionId : sessionIds) {
                RawSession resumed = new RawSession(channel, sessionId);
                assertTrue(resumed.welcome.get(60, TimeUnit.SECONDS).getWelcome().getResumed());
                for (int i = 0; i < perLife; i++) {
                    TaskResult r = resumed.results.poll(60, TimeUnit.SECONDS);
                    assertTrue(r != null, "a held result for each task of session " + sessionId);
                    assertEquals(TaskStatus.SUCCEEDED, r.getStatus(), r.toString());
                    assertEquals(null, values.put(r.getTaskId(), (Long) codec.decode(r.getValue(),
                            getClass().getClassLoader())), "one result per task");
                }
            }
            assertEquals(total, values.size());
            values.forEach((id, v) -> assertEquals(Fingerprints.of(Fingerprints.argument(id, size)), v, "task " + id + "'s result"));
        } finally {
            channel.shutdownNow();
            coordinators.close();
        }
    }

    /** A raw client stream that collects what it is sent. */
    private static final class RawSession {
        final CompletableFuture<SessionResponse> welcome = new CompletableFuture<>();
        final LinkedBlockingQueue<TaskResult> results = new LinkedBlockingQueue<>();
        final StreamObserver<SessionRequest> requests;

        RawSession(ManagedChannel channel, String resume) {
            requests = ClientServiceGrpc.newStub(channel).session(new StreamObserver<>() {
                @Override
                public void onNext(SessionResponse r) {
                    if (r.hasWelcome()) {
                        welcome.complete(r);
                    }
                    results.addAll(ColumnBatches.results(r));
                }

                @Override
                public void onError(Throwable t) {
                    welcome.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {
                }
            });
            requests.onNext(SessionRequest.newBuilder().setHello(ClientHello.newBuilder()
                    .setProtocolVersion(Protocol.VERSION).setClientName("raw").setResumeSessionId(resume)).build());
        }
    }

    /** Polls the coordinator's status (retrying while it starts) until {@code ok} holds. */
    private static StatusResponse awaitStatus(ManagedChannel channel, Predicate<StatusResponse> ok, String what)
    {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        StatusResponse last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .withWaitForReady().status(StatusRequest.getDefaultInstance());
                if (ok.test(last)) {
                    return last;
                }
            } catch (io.grpc.StatusRuntimeException notYet) {
                // starting
            }
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));   // polls a remote condition
        }
        throw new AssertionError("timed out waiting until " + what + "; last status: " + last);
    }

    /** Starts a coordinator JVM with a journal in the test's directory; returns once it listens. */
    private Process coordinator(int port) throws IOException {
        return coordinator(port, List.of());
    }

    /** As {@link #coordinator(int)}, with options for its JVM and more flags. */
    private Process coordinator(int port, List<String> jvmOptions, String... flags) throws IOException {
        List<String> all = new ArrayList<>(List.of("--port", Integer.toString(port), "--journal", "batch",
                "--journal-dir", dir.resolve("journal").toString(), "--heartbeat-timeout", "5s"));
        all.addAll(List.of(flags));
        return coordinators.start(jvmOptions, all.toArray(String[]::new));
    }

    /** kill -9, by the pid we started, and wait until it is gone. */
    private static void kill(Process p) throws InterruptedException {
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    }
}
