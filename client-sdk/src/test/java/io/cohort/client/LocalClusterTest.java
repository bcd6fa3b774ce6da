package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The client API against a real embedded cluster: a coordinator in this JVM and two worker
 * JVMs on loopback, two slots each.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LocalClusterTest {
    private static CohortExecutor cohort;

    @BeforeAll
    static void startCluster() {
        cohort = Cohort.local(LocalClusterConfig.builder().workers(2).slotsPerWorker(2).build());
    }

    @AfterAll
    static void stopCluster() {
        if (cohort != null) {
            cohort.close();
        }
    }

    @Test
    void submitRunsOnAWorkerJvm() throws Exception {
        long here = ProcessHandle.current().pid();
        TaskFuture<Long> pid = cohort.submit(() -> ProcessHandle.current().pid());
        assertNotEquals(here, pid.get(20, TimeUnit.SECONDS));
        assertEquals(42, cohort.submit(() -> 6 * 7).get());
        assertEquals(11L, cohort.submit((Long x) -> x + 1, 10L).get());
        assertNull(cohort.submit((RemoteRunnable) () -> { }).get());
        assertTrue(pid.workerId().startsWith("local-"), pid.workerId());
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void loopbackIsNotTrustedTheClusterRequiresItsTokensAndNoWorkerCommandLineShowsOne() throws Exception {
        String target = ((RemoteExecutor) cohort).target();
        CohortException refused = assertThrows(CohortException.class, () -> Cohort.connect(ClientConfig.builder()
                .target(target).connectTimeout(Duration.ofSeconds(5)).build()).close());
        assertTrue(refused.getMessage().contains("UNAUTHENTICATED"), refused.getMessage());
        String clientToken = ((RemoteExecutor) cohort).anotherClient().build().authToken().orElseThrow();
        List<WorkerInfo> workers = cohort.clusterInfo().workers();
        assertFalse(workers.isEmpty());
        for (WorkerInfo w : workers) {
            // Read as any local user could: the worker JVMs this test's cluster started.
            byte[] raw = java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/" + w.pid() + "/cmdline"));
            List<String> args = List.of(new String(raw, java.nio.charset.StandardCharsets.UTF_8).split("\0"));
            assertTrue(args.contains("--token-stdin"), args::toString);
            // Tokens are 43 characters of base64url; none is among the arguments.
            assertTrue(args.stream().noneMatch(a -> a.contains(clientToken) || a.matches("[A-Za-z0-9_-]{43}")),
                    args::toString);
        }
    }

    @Test
    void aTaskThatIsNotSerializableIsRefusedAndNothingIsSent() throws Exception {
        long before = Long.parseLong(cohort.submit(() -> 1).taskId());
        Callable<Integer> plain = () -> 1;   // a lambda of a non-serializable interface
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cohort.submit(plain));
        assertTrue(e.getMessage().contains(plain.getClass().getName()), e.getMessage());
        Object notSerializable = new Object();
        IllegalArgumentException captured = assertThrows(IllegalArgumentException.class,
                () -> cohort.submit(() -> notSerializable.hashCode()));
        assertTrue(captured.getMessage().contains("java.lang.Object"), captured.getMessage());
        long after = Long.parseLong(cohort.submit(() -> 1).taskId());
        assertEquals(before + 1, after, "no task id was used by the refused submits");
    }

    @Test
    void aTaskExceptionKeepsItsClassMessageAndRemoteFramesAndTheMessageNamesTheWorker() {
        TaskFuture<Object> f = cohort.submit(() -> {
            throw new IllegalStateException("boom");
        });
        ExecutionException e = assertThrows(ExecutionException.class, f::get);
        IllegalStateException cause = assertInstanceOf(IllegalStateException.class, e.getCause());
        assertEquals("boom", cause.getMessage());
        assertTrue(e.getMessage().contains("local-"), e.getMessage());
        assertTrue(cause.getStackTrace().length > 0);
        assertTrue(cause.getStackTrace()[0].getClassName().startsWith(LocalClusterTest.class.getName()),
                cause.getStackTrace()[0].toString());
    }

    /** An exception that cannot be serialized, so the client only gets its description. */
    static final class Unshippable extends RuntimeException {
        @SuppressWarnings("unused")
        private final Object payload = new Object();

        Unshippable(String message) {
            super(message);
        }
    }

    @Test
    void anExceptionThatCannotTravelArrivesAsRemoteTaskException() {
        TaskFuture<Object> f = cohort.submit(() -> {
            throw new Unshippable("cannot travel");
        });
        ExecutionException e = assertThrows(ExecutionException.class, f::get);
        RemoteTaskException remote = assertInstanceOf(RemoteTaskException.class, e.getCause());
        assertEquals(Unshippable.class.getName(), remote.remoteClassName());
        assertEquals("cannot travel", remote.remoteMessage());
        assertTrue(remote.workerId().startsWith("local-"));
        assertTrue(remote.getMessage().contains(Unshippable.class.getName()));
        assertTrue(remote.getStackTrace().length > 0);
    }

    @Test
    void mapYieldsInInputOrderWithAndWithoutChunks() {
        List<Integer> inputs = IntStream.range(0, 500).boxed().toList();
        List<Integer> expected = inputs.stream().map(x -> x * x).toList();
        assertEquals(expected, cohort.map((Integer x) -> x * x, inputs).toList());
        assertEquals(expected, cohort.map((Integer x) -> x * x, inputs,
                MapOptions.builder().chunkSize(7).build()).toList());
        assertEquals(expected, cohort.map((Integer x) -> x * x, inputs,
                MapOptions.builder().chunkSize(1).bufferSize(3).build()).toList());
    }

    @Test
    void unorderedMapYieldsEveryResultOnce() {
        List<Integer> inputs = IntStream.range(0, 300).boxed().toList();
        List<Integer> got = cohort.map((Integer x) -> x + 1, inputs,
                MapOptions.builder().ordered(false).chunkSize(10).build()).toList();
        assertEquals(300, got.size());
        assertEquals(new HashSet<>(inputs.stream().map(x -> x + 1).toList()), new HashSet<>(got));
    }

    @Test
    void aFailedMapElementThrowsWhenReachedAndIterationGoesOn() {
        for (int chunk : new int[] {1, 4}) {
            Iterator<Integer> it = cohort.map((Integer x) -> 10 / x, List.of(5, 2, 0, 1),
                    MapOptions.builder().chunkSize(chunk).build()).iterator();
            assertEquals(2, it.next());
            assertEquals(5, it.next());
            TaskFailedException e = assertThrows(TaskFailedException.class, it::next);
            assertInstanceOf(ArithmeticException.class, e.getCause());
            assertEquals(10, it.next());
            assertFalse(it.hasNext());
        }
    }

    @Test
    void mapReadsAnEndlessInputLazily() {
        AtomicInteger read = new AtomicInteger();
        Iterable<Integer> endless = () -> new Iterator<>() {
            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public Integer next() {
                return read.incrementAndGet();
            }
        };
        try (MapResult<Integer> squares = cohort.map((Integer x) -> x * x, endless,
                MapOptions.builder().bufferSize(8).chunkSize(2).build())) {
            Iterator<Integer> it = squares.iterator();
            for (int i = 1; i <= 50; i++) {
                assertEquals(i * i, it.next());
                assertTrue(read.get() <= i + 8 + 2, "read " + read.get() + " inputs for " + i + " results");
            }
        }
    }

    @Test
    void anAutomaticMapOfManyValuesChunksThemAndKeepsEachResult() {
        // plain values of several kinds, nulls among them, one failing element inside a chunk
        List<Object> inputs = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            inputs.add(i % 5 == 0 ? null : i % 5 == 1 ? (Object) (long) i : i % 5 == 2 ? "s" + i : i % 5 == 3 ? i : 0.5 * i);
        }
        inputs.set(7_777, "fail");
        Iterator<String> it = cohort.map((Object x) -> {
            if ("fail".equals(x)) {
                throw new IllegalStateException("element says fail");
            }
            return String.valueOf(x);
        }, inputs).iterator();
        for (int i = 0; i < inputs.size(); i++) {
            if (i == 7_777) {
                TaskFailedException e = assertThrows(TaskFailedException.class, it::next);
                assertInstanceOf(IllegalStateException.class, e.getCause());
            } else {
                assertEquals(String.valueOf(inputs.get(i)), it.next(), "element " + i);
            }
        }
        assertFalse(it.hasNext());
    }

    @Test
    void anAutomaticMapOfAnEndlessInputStaysWithinItsBuffer() {
        java.util.concurrent.atomic.AtomicLong read = new java.util.concurrent.atomic.AtomicLong();
        int buffer = 1_000;
        try (MapResult<Long> next = cohort.map((Long x) -> x + 1, MapResultTest.endless(read),
                MapOptions.builder().bufferSize(buffer).build())) {
            Iterator<Long> it = next.iterator();
            for (long i = 1; i <= 50_000; i++) {
                assertEquals(i, it.next());   // inputs 0, 1, 2, ...
                assertTrue(read.get() <= i + buffer, "read " + read.get() + " inputs for " + i + " results");
            }
        }
    }

    @Test
    void mapTimeoutCountsFromTheCall() throws Exception {
        try (Gate gate = new Gate()) {
            Gate.Handle h = gate.handle();
            MapResult<Integer> slow = cohort.map((Integer x) -> {
                h.pass();
                return x;
            }, List.of(1, 2), MapOptions.builder().chunkSize(1).timeout(Duration.ofMillis(300)).build());
            Iterator<Integer> it = slow.iterator();
            assertThrows(CohortTimeoutException.class, it::next);
            gate.open();
        }
    }

    @Test
    void cancelBeforeStartNeverRunsAndCancelOfARunningTaskFollowsPythonsRule() throws Exception {
        try (Gate gate = new Gate(); Gate ran = new Gate()) {
            Gate.Handle h = gate.handle();
            Gate.Handle ranHandle = ran.handle();
            List<TaskFuture<Integer>> blockers = new ArrayList<>();
            int slots = 4;
            for (int i = 0; i < slots; i++) {
                blockers.add(cohort.submit(() -> {
                    h.pass();
                    return 1;
                }));
            }
            assertTrue(gate.awaitArrivals(slots, 20), "every slot is busy");
            TaskFuture<Integer> running = blockers.get(0);
            waitUntil(running::isRunning);
            // Queued behind the busy slots: cancel removes it and it never runs.
            List<TaskFuture<Integer>> queued = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                queued.add(cohort.submit(() -> {
                    ranHandle.pass();
                    return 2;
                }));
            }
            for (TaskFuture<Integer> q : queued) {
                assertTrue(q.cancel(false));
                assertTrue(q.isCancelled());
                assertThrows(CancellationException.class, q::get);
            }
            assertFalse(running.cancel(false), "a running task is not cancelled without interrupt");
            assertFalse(running.isDone());
            assertTrue(blockers.get(1).cancel(true), "cancel(true) interrupts a running task");
            assertThrows(CancellationException.class, () -> blockers.get(1).get());
            assertTrue(blockers.get(1).cancel(true), "cancelling again returns true");
            gate.open();
            assertEquals(1, running.get(20, TimeUnit.SECONDS));
            assertFalse(running.cancel(true), "a completed task cannot be cancelled");
            // Every slot is free again once this runs on each; none of the cancelled ones arrived.
            assertEquals(List.of(3, 3, 3, 3, 3, 3, 3, 3), cohort.map((Integer x) -> 3, List.of(1, 2, 3, 4, 5, 6, 7, 8),
                    MapOptions.builder().chunkSize(1).build()).toList());
            assertFalse(ran.awaitArrivals(1, 0), "a task cancelled before it started never ran");
        }
    }

    @Test
    void aTaskPastItsTimeoutIsInterruptedAndFailsWithTaskTimeoutException() throws Exception {
        try (Gate never = new Gate()) {
            Gate.Handle h = never.handle();
            TaskFuture<String> f = cohort.submit(() -> {
                h.pass();   // only an interrupt gets it out
                return "late";
            }, TaskOptions.builder().timeout(Duration.ofMillis(200)).name("stuck").build());
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(20, TimeUnit.SECONDS));
            TaskTimeoutException timeout = assertInstanceOf(TaskTimeoutException.class, e.getCause());
            assertTrue(timeout.getMessage().contains("stuck"), timeout.getMessage());
        }
    }

    /**
     * Results complete their futures on the transport thread; a stage chained while a result may
     * be arriving must still run on the callback executor (or, once done, on the chaining thread).
     */
    @Test
    void stagesChainedWhileResultsArriveNeverRunOnATransportThread() throws Exception {
        String me = Thread.currentThread().getName();
        java.util.Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        List<CompletableFuture<?>> stages = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            TaskFuture<Long> f = cohort.submit((Long x) -> x + 1, (long) i);
            // each kind of stage, chained as early as possible: many race with their result
            switch (i % 4) {
                case 0 -> stages.add(f.thenApply(v -> threads.add(Thread.currentThread().getName())));
                case 1 -> stages.add(f.whenComplete((v, e) -> threads.add(Thread.currentThread().getName())));
                case 2 -> stages.add(f.handle((v, e) -> threads.add(Thread.currentThread().getName())));
                default -> {
                    CompletableFuture<Void> called = new CompletableFuture<>();
                    f.addDoneCallback(done -> {
                        threads.add(Thread.currentThread().getName());
                        called.complete(null);
                    });
                    stages.add(called);
                }
            }
        }
        CompletableFuture.allOf(stages.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        for (String t : threads) {
            assertTrue(t.equals(me) || t.startsWith("cohort-callback"), "a stage ran on " + t + " (all: " + threads + ")");
        }
    }

    @Test
    void exceptionAndCallbacksFollowPythonsFuture() throws Exception {
        TaskFuture<Integer> ok = cohort.submit(() -> 1);
        assertNull(ok.exception(Duration.ofSeconds(20)));
        TaskFuture<Integer> bad = cohort.submit(() -> {
            throw new ArithmeticException("nope");
        });
        assertInstanceOf(ArithmeticException.class, bad.exception(Duration.ofSeconds(20)));

        try (Gate gate = new Gate()) {
            Gate.Handle h = gate.handle();
            TaskFuture<Integer> slow = cohort.submit(() -> {
                h.pass();
                return 5;
            });
            assertThrows(java.util.concurrent.TimeoutException.class, () -> slow.exception(Duration.ofMillis(50)));
            CompletableFuture<String> callbackThread = new CompletableFuture<>();
            slow.addDoneCallback(f -> callbackThread.complete(Thread.currentThread().getName()));
            gate.open();
            assertTrue(callbackThread.get(20, TimeUnit.SECONDS).startsWith("cohort-callback"),
                    "callbacks run on the callback executor");
        }
        CompletableFuture<TaskFuture<Integer>> atOnce = new CompletableFuture<>();
        ok.addDoneCallback(atOnce::complete);
        assertTrue(atOnce.isDone(), "a callback on a done future runs at once");
    }

    @Test
    void asCompletedAndWaitWorkOnTaskFutures() throws Exception {
        List<TaskFuture<Integer>> fs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            int x = i;
            fs.add(cohort.submit(() -> x));
        }
        Set<Integer> seen = new HashSet<>();
        for (TaskFuture<Integer> f : Futures.asCompleted(fs, Duration.ofSeconds(20))) {
            assertTrue(f.isDone());
            seen.add(f.get());
        }
        assertEquals(20, seen.size());
        DoneAndNotDone<TaskFuture<Integer>> all = Futures.wait(fs, Duration.ofSeconds(20), ReturnWhen.ALL_COMPLETED);
        assertEquals(20, all.done().size());
        assertTrue(all.notDone().isEmpty());
    }

    @Test
    void invokeAllAndInvokeAny() throws Exception {
        List<Callable<Integer>> tasks = List.of((RemoteCallable<Integer>) () -> 1, (RemoteCallable<Integer>) () -> 2);
        List<Future<Integer>> all = cohort.invokeAll(tasks);
        assertEquals(1, all.get(0).get());
        assertEquals(2, all.get(1).get());
        int any = cohort.invokeAny(List.of((RemoteCallable<Integer>) () -> {
            throw new IllegalStateException("first fails");
        }, (RemoteCallable<Integer>) () -> 7));
        assertEquals(7, any);
    }

    @Test
    void clusterInfoShowsTheWorkers() throws InterruptedException {
        // local() returns once one worker has attached; the other follows
        awaitActiveWorkers(cohort, 2);
        ClusterInfo info = cohort.clusterInfo();
        List<WorkerInfo> active = info.workers().stream().filter(w -> w.state() == WorkerState.ACTIVE).toList();
        assertEquals(2, active.size());
        for (WorkerInfo w : active) {
            assertEquals(2, w.slots());
            assertTrue(w.pid() > 0);
            assertNotEquals(ProcessHandle.current().pid(), w.pid());
            assertTrue(ProcessHandle.of(w.pid()).isPresent(), "a real worker process");
        }
    }

    @Test
    void aSecondClientCarriesOnAndShutdownFollowsPython() throws Exception {
        CohortExecutor other = Cohort.connect(((RemoteExecutor) cohort).anotherClient().build());
        try (Gate gate = new Gate()) {
            Gate.Handle h = gate.handle();
            TaskFuture<Integer> slow = other.submit(() -> {
                h.pass();
                return 9;
            });
            assertTrue(gate.awaitArrivals(1, 20));
            other.shutdown();   // does not wait, cancels nothing
            assertTrue(other.isShutdown());
            assertThrows(RejectedExecutionException.class, () -> other.submit(() -> 1));
            assertFalse(other.isTerminated());
            assertFalse(other.awaitTermination(50, TimeUnit.MILLISECONDS));
            assertEquals(42, cohort.submit(() -> 42).get(20, TimeUnit.SECONDS), "the first client carries on");
            gate.open();
            assertTrue(other.awaitTermination(20, TimeUnit.SECONDS));
            assertTrue(other.isTerminated());
            assertEquals(9, slow.get());
        } finally {
            other.close();
        }
    }

    @Test
    void shutdownWithCancelFuturesCancelsWhatHasNotStarted() throws Exception {
        CohortExecutor other = Cohort.connect(((RemoteExecutor) cohort).anotherClient().build());
        try (Gate gate = new Gate()) {
            Gate.Handle h = gate.handle();
            List<TaskFuture<Integer>> fs = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                fs.add(other.submit(() -> {
                    h.pass();
                    return 1;
                }));
            }
            assertTrue(gate.awaitArrivals(4, 20));
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> other.shutdown(true, true));
            waitUntil(() -> fs.stream().filter(TaskFuture::isCancelled).count() > 0);
            assertFalse(shutdown.isDone(), "shutdown(wait) waits for the running tasks");
            gate.open();
            shutdown.get(20, TimeUnit.SECONDS);
            assertTrue(fs.stream().allMatch(CompletableFuture::isDone));
            long ok = fs.stream().filter(f -> !f.isCancelled()).count();
            assertTrue(ok >= 4 && ok < 30, ok + " tasks ran");
        } finally {
            other.close();
        }
    }

    /** Waits for a condition that the cluster makes true soon; fails after 20 s. */
    static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        waitUntil(condition, 20);
    }

    /**
     * Waits until {@code n} workers are active: {@code Cohort.local} returns with the first, and a
     * test about two workers must not let its second task queue behind the first on that one.
     */
    static void awaitActiveWorkers(CohortExecutor executor, int n) throws InterruptedException {
        waitUntil(() -> executor.clusterInfo().workers().stream().filter(w -> w.state() == WorkerState.ACTIVE).count() == n, 90);
    }

    /** Polls {@code condition} until it holds, failing after {@code seconds}. */
    static void waitUntil(java.util.function.BooleanSupplier condition, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met within " + seconds + " s");
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }
}
