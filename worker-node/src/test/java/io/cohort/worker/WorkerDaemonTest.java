package io.cohort.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.Codec;
import io.cohort.common.Digests;
import io.cohort.common.Protocol;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskError;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.worker.FakeCoordinator.Mark;
import io.cohort.worker.FakeCoordinator.Stream;
import io.grpc.Status;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class WorkerDaemonTest {
    private static final Codec CODEC = Codec.standard();

    // Test bodies run in this JVM, so they coordinate with the test through these.
    static volatile CountDownLatch release;
    static volatile CountDownLatch entered;
    static volatile CountDownLatch interrupted;

    private FakeCoordinator coordinator;
    private WorkerDaemon daemon;

    @BeforeEach
    void setUp() throws IOException {
        release = new CountDownLatch(1);
        entered = new CountDownLatch(1);
        interrupted = new CountDownLatch(1);
        coordinator = new FakeCoordinator();
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        release.countDown();
        if (daemon != null) {
            daemon.close();
        }
        coordinator.close();
    }

    private WorkerConfig.Builder config(int slots) {
        return WorkerConfig.builder().coordinator("in-process").slots(slots).initialBackoff(Duration.ofMillis(10));
    }

    private Stream start(int slots) throws InterruptedException {
        daemon = WorkerDaemon.start(config(slots).build(), coordinator.channel);
        return coordinator.attach("w-1");
    }

    private static TaskAssign assign(long key, TaskBody body, Object input) {
        TaskSpec.Builder spec = TaskSpec.newBuilder().setBody(CODEC.encode(body));
        if (input != null) {
            spec.setArgument(CODEC.encode(input));
        }
        return TaskAssign.newBuilder().setTaskKey(key).setAttempt(1).setName("task-" + key).setSpec(spec).build();
    }

    private static void send(Stream s, TaskAssign... assigns) {
        s.send(AttachResponse.newBuilder().addAllAssigns(List.of(assigns)).build());
    }

    private static void cancel(Stream s, long key, boolean interrupt) {
        s.send(AttachResponse.newBuilder().addCancels(TaskCancelOrder.newBuilder()
                .setTaskKey(key).setAttempt(1).setInterrupt(interrupt)).build());
    }

    private static Object value(WorkerTaskResult r) {
        assertEquals(TaskStatus.SUCCEEDED, r.getStatus(), () -> r.getError().toString());
        return r.hasValue() ? CODEC.decode(r.getValue(), WorkerDaemonTest.class.getClassLoader()) : null;
    }

    /** Blocks until the test releases it; returns "done". */
    static Object blockUntilReleased(Object input) throws InterruptedException {
        entered.countDown();
        release.await();
        return "done";
    }

    /** Waits for an interrupt that never comes unless the worker sends it; swallows it and returns. */
    static Object swallowInterrupt(Object input) throws InterruptedException {
        entered.countDown();
        try {
            new CountDownLatch(1).await();
        } catch (InterruptedException e) {
            interrupted.countDown();
        }
        release.await();
        return "late";
    }

    @Test
    void helloCarriesTheConfiguration() throws Exception {
        daemon = WorkerDaemon.start(config(3).workerId("w-req").prefetch(5).host("box-1")
                .resources(Map.of("gpu", 1.0)).labels(Set.of("zone=a"))
                .heartbeatInterval(Duration.ofSeconds(2)).build(), coordinator.channel);
        Stream s = coordinator.nextStream();
        WorkerHello hello = s.hello();
        assertEquals(Protocol.VERSION, hello.getProtocolVersion());
        assertEquals("w-req", hello.getWorkerId());
        assertEquals("box-1", hello.getHost());
        assertEquals(ProcessHandle.current().pid(), hello.getPid());
        assertEquals(3, hello.getSlots());
        assertEquals(5, hello.getPrefetch());
        assertEquals(5, hello.getMaxPrefetch());
        assertEquals(Map.of("gpu", 1.0), hello.getResourcesMap());
        assertEquals(List.of("zone=a"), hello.getLabelsList());
        assertEquals(2000, hello.getHeartbeatIntervalMs());
        s.welcome("w-req", 30_000);
        assertEquals("w-req", daemon.attached().get(10, TimeUnit.SECONDS));
    }

    @Test
    void prefetchDefaultsToSlots() throws Exception {
        daemon = WorkerDaemon.start(config(4).build(), coordinator.channel);
        WorkerHello hello = coordinator.nextStream().hello();
        assertEquals(4, hello.getPrefetch());
        assertEquals(4 * WorkerConfig.SHORT_TASKS_PER_SLOT, hello.getMaxPrefetch(), "adaptive up to this");
        assertEquals("", hello.getWorkerId());
    }

    @Test
    void aTaskRunsAndReportsStartedThenItsResult() throws Exception {
        Stream s = start(2);
        send(s, assign(1, x -> (Integer) x * 2, 21), assign(2, x -> null, null));
        WorkerTaskResult first = s.result(1);
        assertEquals(42, value(first));
        assertTrue(first.getRunNanos() > 0, "the result says how long the task ran");
        s.started(1);
        List<Object> items = s.items();
        assertTrue(items.indexOf(s.started(1)) < items.indexOf(s.result(1)), items.toString());
        WorkerTaskResult nothing = s.result(2);
        assertEquals(TaskStatus.SUCCEEDED, nothing.getStatus());
        assertFalse(nothing.hasValue(), "a null result has no value");
    }

    /** Counts how often it is deserialized. */
    static final class CountingBody implements TaskBody {
        static final AtomicInteger DECODED = new AtomicInteger();

        @Override
        public Object call(Object input) {
            return "f(" + input + ")";
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            DECODED.incrementAndGet();
        }
    }

    /** A CountingBody's definition, its decode count set to 0. */
    private static FunctionDef countingFunction() {
        CountingBody.DECODED.set(0);
        ByteString body = CODEC.encode(new CountingBody());
        return FunctionDef.newBuilder().setDigest(Digests.sha256(body)).setBody(body).build();
    }

    @Test
    void functionsAreDecodedOncePerDigest() throws Exception {
        Stream s = start(2);
        FunctionDef def = countingFunction();
        ByteString digest = def.getDigest();
        AttachResponse.Builder msg = AttachResponse.newBuilder().addFunctions(def);
        for (int i = 1; i <= 5; i++) {
            msg.addAssigns(TaskAssign.newBuilder().setTaskKey(i).setAttempt(1).setSpec(TaskSpec.newBuilder()
                    .setFunctionDigest(digest).setArgument(CODEC.encode(i))));
        }
        s.send(msg.build());
        for (int i = 1; i <= 5; i++) {
            assertEquals("f(" + i + ")", value(s.result(i)));
        }
        assertTrue(CountingBody.DECODED.get() <= 2, "decoded " + CountingBody.DECODED.get() + " times");
        // later tasks use the cache with no function resent
        s.send(AttachResponse.newBuilder().addAssigns(TaskAssign.newBuilder().setTaskKey(6).setAttempt(1)
                .setSpec(TaskSpec.newBuilder().setFunctionDigest(digest))).build());
        assertEquals("f(null)", value(s.result(6)));
        assertTrue(CountingBody.DECODED.get() <= 2);
    }

    @Test
    void aFunctionTheCoordinatorSaysToForgetIsDroppedAndTakenAgainWhenSentAgain() throws Exception {
        Stream s = start(1);
        FunctionDef def = countingFunction();
        ByteString digest = def.getDigest();
        ByteString otherBody = CODEC.encode("another function, never run");
        FunctionDef other = FunctionDef.newBuilder().setDigest(Digests.sha256(otherBody)).setBody(otherBody).build();
        TaskAssign.Builder task = TaskAssign.newBuilder().setAttempt(1).setSpec(TaskSpec.newBuilder().setFunctionDigest(digest));
        s.send(AttachResponse.newBuilder().addFunctions(def).addFunctions(other).addAssigns(task.setTaskKey(1)).build());
        assertEquals("f(null)", value(s.result(1)));
        assertEquals(2, daemon.functionsHeld());

        s.send(AttachResponse.newBuilder().addForgetFunctions(digest).addAssigns(task.setTaskKey(2)).build());
        WorkerTaskResult refused = s.result(2);
        assertEquals(TaskStatus.FAILED, refused.getStatus());
        assertTrue(refused.getError().getMessage().contains("not sent on this stream"), refused.getError().getMessage());
        assertEquals(1, daemon.functionsHeld(), "only the function it was not told to forget");

        // Forgotten and sent again in one message: the definition wins (forgets are applied first).
        s.send(AttachResponse.newBuilder().addForgetFunctions(digest).addFunctions(def).addAssigns(task.setTaskKey(3)).build());
        assertEquals("f(null)", value(s.result(3)));
        assertEquals(2, CountingBody.DECODED.get(), "decoded again: the decoded function was dropped too");
        assertEquals(2, daemon.functionsHeld());
    }

    @Test
    void aChunkReportsEachFailedElement() throws Exception {
        Stream s = start(1);
        TaskBody body = x -> {
            if ((Integer) x == 2) {
                throw new IllegalStateException("two");
            }
            return (Integer) x * 10;
        };
        TaskAssign chunk = assign(1, body, new Object[] {1, 2, 3});
        send(s, chunk.toBuilder().setSpec(chunk.getSpec().toBuilder().setChunk(true)).build());
        WorkerTaskResult r = s.result(1);
        assertArrayEquals(new Object[] {10, null, 30}, (Object[]) value(r));
        assertEquals(1, r.getElementErrorsCount());
        assertEquals(1, r.getElementErrors(0).getIndex());
        TaskError e = r.getElementErrors(0).getError();
        assertEquals("java.lang.IllegalStateException", e.getClassName());
        assertEquals("two", e.getMessage());
        assertEquals("w-1", e.getWorkerId());
    }

    @Test
    void aTaskThatThrowsFailsAndTheWorkerCarriesOn() throws Exception {
        Stream s = start(1);
        send(s, assign(1, x -> {
            throw new IllegalStateException("boom");
        }, null), assign(2, WorkerDaemonTest::recurse, null), assign(3, x -> "still here", null));
        WorkerTaskResult failed = s.result(1);
        assertEquals(TaskStatus.FAILED, failed.getStatus());
        assertEquals("java.lang.IllegalStateException", failed.getError().getClassName());
        assertEquals("boom", failed.getError().getMessage());
        assertEquals("w-1", failed.getError().getWorkerId());
        assertFalse(failed.getError().getSerialized().isEmpty());
        assertTrue(failed.getError().getFramesCount() > 0);
        assertEquals("java.lang.StackOverflowError", s.result(2).getError().getClassName());
        assertEquals("still here", value(s.result(3)));
    }

    static Object recurse(Object depth) {
        return recurse(depth == null ? 1 : (Integer) depth + 1);
    }

    static final class GoneBody implements TaskBody {
        @Override
        public Object call(Object input) {
            return "never";
        }
    }

    @Test
    void aClassTheWorkerCannotLoadFailsTheTaskNamingIt() throws Exception {
        Stream s = start(1);
        byte[] bytes = CODEC.encode(new GoneBody()).toByteArray();
        String bytesAsText = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
        byte[] renamed = bytesAsText.replace("GoneBody", "LostBody").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        s.send(AttachResponse.newBuilder().addAssigns(TaskAssign.newBuilder().setTaskKey(1).setAttempt(1)
                .setSpec(TaskSpec.newBuilder().setBody(ByteString.copyFrom(renamed)))).build());
        TaskError e = s.result(1).getError();
        assertEquals("java.lang.ClassNotFoundException", e.getClassName());
        assertTrue(e.getMessage().contains("io.cohort.worker.WorkerDaemonTest$LostBody"), e.getMessage());
        assertTrue(e.getMessage().contains("worker w-1"), e.getMessage());
        assertTrue(e.getMessage().contains("--classpath"), e.getMessage());
        assertEquals(TaskStatus.FAILED, s.result(1).getStatus());
    }

    @Test
    void aResultThatCannotBeEncodedFailsNamingItsClass() throws Exception {
        Stream s = start(1);
        send(s, assign(1, x -> new Object(), null));
        WorkerTaskResult r = s.result(1);
        assertEquals(TaskStatus.FAILED, r.getStatus());
        assertTrue(r.getError().getMessage().contains("java.lang.Object"), r.getError().getMessage());
    }

    @Test
    void cancelBeforeStartDropsTheTask() throws Exception {
        Stream s = start(1);
        send(s, assign(1, WorkerDaemonTest::blockUntilReleased, null), assign(2, x -> "ran", null));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        cancel(s, 2, false);
        assertEquals(TaskStatus.CANCELLED, s.result(2).getStatus());
        release.countDown();
        assertEquals("done", value(s.result(1)));
        send(s, assign(3, x -> "after", null));
        assertEquals("after", value(s.result(3)));
        assertTrue(s.items().stream().noneMatch(o -> o instanceof io.cohort.proto.v1.WorkerTaskStarted st
                && st.getTaskKey() == 2), "a cancelled task never starts");
    }

    @Test
    void cancelWithInterruptStopsARunningTaskAndSparesTheNextOne() throws Exception {
        Stream s = start(1);
        send(s, assign(1, WorkerDaemonTest::swallowInterrupt, null));
        s.started(1);
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        cancel(s, 1, true);
        assertEquals(TaskStatus.CANCELLED, s.result(1).getStatus());
        assertTrue(interrupted.await(10, TimeUnit.SECONDS));
        release.countDown();
        // the same (only) thread runs the next task, with no interrupt left over
        send(s, assign(2, x -> Thread.currentThread().isInterrupted(), null));
        assertEquals(false, value(s.result(2)));
        assertEquals(1, s.items().stream().filter(o -> o instanceof WorkerTaskResult r && r.getTaskKey() == 1).count());
    }

    @Test
    void cancelWithoutInterruptLetsARunningTaskFinish() throws Exception {
        Stream s = start(1);
        send(s, assign(1, WorkerDaemonTest::blockUntilReleased, null));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        cancel(s, 1, false);
        send(s, assign(2, x -> "barrier", null));
        release.countDown();
        assertEquals("done", value(s.result(1)));
        assertEquals("barrier", value(s.result(2)));
    }

    @Test
    void aTaskPastItsTimeoutIsInterruptedAndEndsTimedOut() throws Exception {
        Stream s = start(1);
        TaskAssign slow = assign(1, WorkerDaemonTest::swallowInterrupt, null).toBuilder().setTimeoutMs(50).build();
        send(s, slow);
        WorkerTaskResult r = s.result(1);
        assertEquals(TaskStatus.TIMED_OUT, r.getStatus());
        assertTrue(r.getError().getMessage().contains("50 ms"), r.getError().getMessage());
        assertTrue(r.getError().getMessage().contains("task-1"), r.getError().getMessage());
        assertTrue(interrupted.await(10, TimeUnit.SECONDS));
        release.countDown();   // it returns "late" now, which must not be reported
        send(s, assign(2, x -> Thread.interrupted(), null));
        assertEquals(false, value(s.result(2)));
        assertEquals(1, s.items().stream().filter(o -> o instanceof WorkerTaskResult x && x.getTaskKey() == 1).count());
    }

    @Test
    void drainReturnsUnstartedTasksFinishesRunningOnesAndCloses() throws Exception {
        Stream s = start(1);
        send(s, assign(1, WorkerDaemonTest::blockUntilReleased, null), assign(2, x -> "b", null),
                assign(3, x -> "c", null));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        daemon.drain();
        s.await(Mark.DRAINING);
        assertEquals(TaskStatus.RETURNED, s.result(2).getStatus());
        assertEquals(TaskStatus.RETURNED, s.result(3).getStatus());
        send(s, assign(4, x -> "d", null));
        assertEquals(TaskStatus.RETURNED, s.result(4).getStatus());
        release.countDown();
        assertEquals("done", value(s.result(1)));
        s.await(Mark.WORKER_COMPLETED);
        assertEquals(0, daemon.termination().get(10, TimeUnit.SECONDS));
    }

    @Test
    void drainPastItsTimeoutCancelsRunningTasks() throws Exception {
        daemon = WorkerDaemon.start(config(1).drainTimeout(Duration.ofMillis(50)).build(), coordinator.channel);
        Stream s = coordinator.attach("w-1");
        send(s, assign(1, WorkerDaemonTest::swallowInterrupt, null));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        daemon.drain();
        assertEquals(TaskStatus.CANCELLED, s.result(1).getStatus());
        assertTrue(interrupted.await(10, TimeUnit.SECONDS));
        s.await(Mark.WORKER_COMPLETED);
        assertEquals(0, daemon.termination().get(10, TimeUnit.SECONDS));
    }

    @Test
    void reconnectsWithItsIdAfterTheStreamIsLostAndInterruptsWhatRan() throws Exception {
        Stream first = start(1);
        send(first, assign(1, WorkerDaemonTest::swallowInterrupt, null));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        first.fail(Status.UNAVAILABLE.withDescription("coordinator restarting"));
        assertTrue(interrupted.await(10, TimeUnit.SECONDS));

        Stream second = coordinator.nextStream();
        assertEquals("w-1", second.hello().getWorkerId(), "re-attaches under the id it was given");
        second.welcome("w-1", 30_000);
        release.countDown();
        send(second, assign(2, x -> "again", null));
        assertEquals("again", value(second.result(2)));
        assertTrue(second.items().stream().noneMatch(o -> o instanceof WorkerTaskResult r && r.getTaskKey() == 1),
                "a task of the lost stream is forgotten");
        assertFalse(daemon.termination().isDone());
    }

    @Test
    void reconnectsAfterTheCoordinatorCompletesTheStream() throws Exception {
        Stream first = start(1);
        first.complete();   // a server-side completion without a drain is a lost stream too
        Stream second = coordinator.nextStream();
        second.hello();
        second.welcome("w-1", 30_000);
        send(second, assign(1, x -> "ok", null));
        assertEquals("ok", value(second.result(1)));
    }

    @Test
    void aProtocolMismatchStopsTheWorkerWithTheReason() throws Exception {
        daemon = WorkerDaemon.start(config(1).build(), coordinator.channel);
        Stream s = coordinator.nextStream();
        s.hello();
        s.fail(Status.FAILED_PRECONDITION.withDescription("protocol version 1 is not supported"));
        assertEquals(1, daemon.termination().get(10, TimeUnit.SECONDS));
        assertTrue(daemon.failure().orElseThrow().contains("protocol version 1 is not supported"),
                daemon.failure().toString());
    }

    @Test
    void aWelcomeOfAnotherVersionStopsTheWorker() throws Exception {
        daemon = WorkerDaemon.start(config(1).build(), coordinator.channel);
        Stream s = coordinator.nextStream();
        s.hello();
        s.welcome("w-1", 30_000, Protocol.VERSION + 1);
        assertEquals(1, daemon.termination().get(10, TimeUnit.SECONDS));
        assertTrue(daemon.failure().orElseThrow().contains("protocol version"));
    }

    @Test
    void sendsHeartbeatsWhenIdle() throws Exception {
        daemon = WorkerDaemon.start(config(1).build(), coordinator.channel);
        Stream s = coordinator.nextStream();
        s.hello();
        s.welcome("w-1", 200);   // a heartbeat every 50 ms
        s.await(Mark.EMPTY);
    }

    @Test
    void manyTasksAllComeBack() throws Exception {
        Stream s = start(4);
        ByteString body = CODEC.encode((TaskBody) x -> (Integer) x + 1);
        ByteString digest = Digests.sha256(body);
        s.send(AttachResponse.newBuilder().addFunctions(FunctionDef.newBuilder().setDigest(digest).setBody(body)).build());
        int n = 2000;
        for (int batch = 0; batch < n / 100; batch++) {
            AttachResponse.Builder msg = AttachResponse.newBuilder();
            for (int i = batch * 100; i < batch * 100 + 100; i++) {
                msg.addAssigns(TaskAssign.newBuilder().setTaskKey(i).setAttempt(1).setSpec(TaskSpec.newBuilder()
                        .setFunctionDigest(digest).setArgument(CODEC.encode(i))));
            }
            s.send(msg.build());
        }
        for (int i = 0; i < n; i++) {
            assertEquals(i + 1, value(s.result(i)));
        }
    }
}
