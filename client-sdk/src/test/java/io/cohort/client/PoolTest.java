package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * CohortPool against a real embedded cluster (two worker JVMs, two slots each), following the
 * cases of CPython's test_multiprocessing pool tests.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PoolTest {
    private static CohortExecutor cohort;

    /** Lives in each worker JVM: how often this JVM ran an initializer. */
    static final AtomicInteger INITIALIZER_RUNS = new AtomicInteger();

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

    private static CohortPool pool() {
        return cohort.pool(PoolOptions.DEFAULTS);
    }

    @Test
    void applyRunsAndWaits() throws Exception {
        try (CohortPool pool = pool()) {
            assertEquals(25, pool.apply((Integer x) -> x * x, 5));
            assertEquals(121L, pool.applyAsync((Long x) -> x * x, 11L).get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void applyThrowsTheTaskErrorAsTaskFailed() {
        try (CohortPool pool = pool()) {
            TaskFailedException e = assertThrows(TaskFailedException.class, () -> pool.apply((Integer x) -> {
                throw new IllegalStateException("bad input " + x);
            }, 3));
            assertInstanceOf(IllegalStateException.class, e.getCause());
            assertEquals("bad input 3", e.getCause().getMessage());
        }
    }

    @Test
    void applyAsyncCallbacksRunOnTheCallbackExecutor() throws Exception {
        try (CohortPool pool = pool()) {
            CompletableFuture<String> seen = new CompletableFuture<>();
            pool.applyAsync((Integer x) -> x + 1, 41,
                    v -> seen.complete(v + " on " + Thread.currentThread().getName()), seen::completeExceptionally);
            String got = seen.get(20, TimeUnit.SECONDS);
            assertTrue(got.startsWith("42 on cohort-callback"), got);

            CompletableFuture<Throwable> error = new CompletableFuture<>();
            pool.applyAsync((Integer x) -> {
                throw new ArithmeticException("no " + x);
            }, 7, v -> error.complete(null), error::complete);
            Throwable e = error.get(20, TimeUnit.SECONDS);
            assertInstanceOf(ArithmeticException.class, e);
            assertEquals("no 7", e.getMessage());
        }
    }

    @Test
    void mapKeepsInputOrderWithAnyChunking() {
        List<Integer> inputs = IntStream.range(0, 1000).boxed().toList();
        List<Integer> squares = inputs.stream().map(x -> x * x).toList();
        try (CohortPool pool = pool()) {
            assertEquals(squares, pool.map((Integer x) -> x * x, inputs));
            assertEquals(squares, pool.map((Integer x) -> x * x, inputs, 1));
            assertEquals(squares, pool.map((Integer x) -> x * x, inputs, 333));
            assertEquals(List.of(), pool.map((Integer x) -> x * x, List.<Integer>of()));
            assertThrows(IllegalArgumentException.class, () -> pool.map((Integer x) -> x, inputs, 0));
        }
    }

    @Test
    void mapThrowsAtAFailedElement() {
        try (CohortPool pool = pool()) {
            TaskFailedException e = assertThrows(TaskFailedException.class, () -> pool.map((Integer x) -> {
                if (x == 5) {
                    throw new IllegalArgumentException("five");
                }
                return x;
            }, IntStream.range(0, 10).boxed().toList()));
            assertEquals("five", e.getCause().getMessage());
        }
    }

    @Test
    void mapAsyncHoldsTheWholeListOrTheError() throws Exception {
        try (CohortPool pool = pool()) {
            TaskFuture<List<Integer>> all = pool.mapAsync((Integer x) -> x + 1, List.of(1, 2, 3));
            assertEquals(List.of(2, 3, 4), all.get(20, TimeUnit.SECONDS));
            TaskFuture<List<Integer>> empty = pool.mapAsync((Integer x) -> x + 1, List.of());
            assertEquals(List.of(), empty.get(20, TimeUnit.SECONDS));
            TaskFuture<List<Integer>> failing = pool.mapAsync((Integer x) -> 10 / (x - 2), List.of(1, 2, 3));
            ExecutionException e = assertThrows(ExecutionException.class, () -> failing.get(20, TimeUnit.SECONDS));
            assertInstanceOf(ArithmeticException.class, e.getCause());
        }
    }

    @Test
    void imapYieldsInOrderAndGoesOnPastAFailure() {
        try (CohortPool pool = pool(); MapResult<Integer> results = pool.imap((Integer x) -> {
            if (x == 3) {
                throw new IllegalStateException("three");
            }
            return x * 10;
        }, IntStream.range(0, 6).boxed().toList())) {
            Iterator<Integer> it = results.iterator();
            List<Object> seen = new ArrayList<>();
            while (it.hasNext()) {
                try {
                    seen.add(it.next());
                } catch (TaskFailedException e) {
                    seen.add(e.getCause().getMessage());
                }
            }
            assertEquals(List.of(0, 10, 20, "three", 40, 50), seen);
        }
    }

    @Test
    void imapReadsAnEndlessIterableLazily() {
        Iterable<Integer> naturals = () -> IntStream.iterate(0, i -> i + 1).iterator();
        try (CohortPool pool = pool(); MapResult<Integer> results = pool.imap((Integer x) -> x * 2, naturals)) {
            Iterator<Integer> it = results.iterator();
            for (int i = 0; i < 20; i++) {
                assertEquals(2 * i, it.next());
            }
        }
    }

    @Test
    void imapUnorderedYieldsEveryResultOnce() {
        try (CohortPool pool = pool();
             MapResult<Integer> results = pool.imapUnordered((Integer x) -> x * x, IntStream.range(0, 200).boxed().toList())) {
            List<Integer> got = results.toList();
            assertEquals(200, got.size());
            assertEquals(IntStream.range(0, 200).map(x -> x * x).boxed().collect(Collectors.toSet()), Set.copyOf(got));
        }
    }

    @Test
    void starmapAppliesToPairs() {
        List<Map.Entry<Integer, String>> pairs = List.of(Map.entry(2, "a"), Map.entry(3, "b"), Map.entry(0, "c"));
        try (CohortPool pool = pool()) {
            assertEquals(List.of("aa", "bbb", ""), pool.starmap((Integer n, String s) -> s.repeat(n), pairs));
        }
    }

    @Test
    void processesBoundsTheTasksSentAtOnce() throws Exception {
        try (Gate gate = new Gate(); CohortPool pool = cohort.pool(PoolOptions.builder().processes(2).build())) {
            Gate.Handle h = gate.handle();
            List<TaskFuture<Integer>> futures = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                futures.add(pool.applyAsync((Integer x) -> {
                    h.pass();
                    return x;
                }, i));
            }
            assertTrue(gate.awaitArrivals(2, 20));
            // A plain task behind them on the same stream: once it is back, the coordinator has
            // seen everything the pool sent before it.
            assertEquals(1, cohort.submit(() -> 1).get(20, TimeUnit.SECONDS));
            ClusterInfo info = cohort.clusterInfo();
            assertEquals(2, info.queuedTasks() + info.runningTasks(), info.toString());
            assertFalse(futures.get(2).isRunning());
            gate.open();
            for (int i = 0; i < 5; i++) {
                assertEquals(i, futures.get(i).get(20, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void cancelOfAWaitingTaskRemovesItAndFreesNothing() throws Exception {
        try (Gate gate = new Gate(); CohortPool pool = cohort.pool(PoolOptions.builder().processes(1).build())) {
            Gate.Handle h = gate.handle();
            TaskFuture<Integer> first = pool.applyAsync((Integer x) -> {
                h.pass();
                return x;
            }, 1);
            TaskFuture<Integer> second = pool.applyAsync((Integer x) -> x, 2);
            TaskFuture<Integer> third = pool.applyAsync((Integer x) -> x, 3);
            assertTrue(gate.awaitArrivals(1, 20));
            assertTrue(second.cancel(false));
            assertTrue(second.isCancelled());
            gate.open();
            assertEquals(1, first.get(20, TimeUnit.SECONDS));
            assertEquals(3, third.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void shutdownLetsSubmittedWorkFinishAndRefusesMore() throws Exception {
        CohortPool pool = pool();
        assertThrows(IllegalStateException.class, pool::join);   // Python: ValueError before close()
        List<TaskFuture<Integer>> futures = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            futures.add(pool.applyAsync((Integer x) -> x + 100, i));
        }
        pool.shutdown();
        assertThrows(IllegalStateException.class, () -> pool.applyAsync((Integer x) -> x, 1));
        assertThrows(IllegalStateException.class, () -> pool.map((Integer x) -> x, List.of(1)));
        pool.join();
        for (int i = 0; i < 20; i++) {
            assertTrue(futures.get(i).isDone());
            assertEquals(i + 100, futures.get(i).get());
        }
    }

    @Test
    void terminateCancelsQueuedAndInterruptsRunning() throws Exception {
        try (Gate gate = new Gate()) {
            CohortPool pool = cohort.pool(PoolOptions.builder().processes(2).build());
            Gate.Handle h = gate.handle();
            List<TaskFuture<Integer>> futures = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                futures.add(pool.applyAsync((Integer x) -> {
                    h.pass();   // never opened: only an interrupt ends it
                    return x;
                }, i));
            }
            assertTrue(gate.awaitArrivals(2, 20));
            pool.terminate();
            pool.join();
            for (TaskFuture<Integer> f : futures) {
                assertTrue(f.isCancelled(), f.toString());
            }
            assertThrows(IllegalStateException.class, () -> pool.apply((Integer x) -> x, 1));
            // The interrupted tasks gave their slots back: the whole cluster runs again.
            List<TaskFuture<Long>> after = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                after.add(cohort.submit(() -> 1L));
            }
            for (TaskFuture<Long> f : after) {
                assertEquals(1L, f.get(20, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void initializerRunsOncePerWorkerJvm() {
        PoolOptions options = PoolOptions.builder().initializer(() -> INITIALIZER_RUNS.incrementAndGet()).build();
        try (CohortPool pool = cohort.pool(options)) {
            List<String> seen = pool.map((Integer x) -> ProcessHandle.current().pid() + ":" + INITIALIZER_RUNS.get(),
                    IntStream.range(0, 400).boxed().toList(), 1);
            Set<String> distinct = new TreeSet<>(seen);
            assertTrue(distinct.stream().allMatch(s -> s.endsWith(":1")), distinct.toString());
        }
    }

    @Test
    void aFailingInitializerFailsItsPoolsTasksOnly() {
        PoolOptions options = PoolOptions.builder().initializer(() -> {
            throw new IllegalStateException("no database");
        }).build();
        try (CohortPool broken = cohort.pool(options); CohortPool fine = pool()) {
            for (int i = 0; i < 4; i++) {
                TaskFailedException e = assertThrows(TaskFailedException.class, () -> broken.apply((Integer x) -> x, 1));
                assertTrue(e.getMessage().contains("initializer"), e.getMessage());
                assertTrue(e.getMessage().contains("no database"), e.getMessage());
            }
            assertEquals(2, fine.apply((Integer x) -> x + 1, 1));
        }
    }

    @Test
    void processIsolationRunsTasksInChildJvmsThatAreReplacedAfterMaxTasksPerChild() {
        Set<Long> daemons = new TreeSet<>();
        cohort.clusterInfo().workers().forEach(w -> daemons.add(w.pid()));
        PoolOptions options = PoolOptions.builder().processes(1).isolation(Isolation.PROCESS).maxTasksPerChild(2)
                .initializer(() -> INITIALIZER_RUNS.incrementAndGet()).build();
        try (CohortPool pool = cohort.pool(options)) {
            List<String> seen = pool.map((Integer x) -> ProcessHandle.current().pid() + ":" + INITIALIZER_RUNS.get(),
                    IntStream.range(0, 6).boxed().toList(), 1);
            Set<Long> pids = new TreeSet<>();
            for (String s : seen) {
                assertTrue(s.endsWith(":1"), "the initializer ran once in each child: " + seen);
                pids.add(Long.parseLong(s.substring(0, s.indexOf(':'))));
            }
            // One task at a time, two per child: six tasks need at least three children.
            assertTrue(pids.size() >= 3, "children were replaced: " + seen);
            pids.retainAll(daemons);
            assertTrue(pids.isEmpty(), "no task ran in a worker daemon's own JVM: " + seen);
        }
    }

    @Test
    void optionsAreCheckedWhenBuilt() {
        assertThrows(IllegalArgumentException.class, () -> PoolOptions.builder().processes(0).build());
        IllegalArgumentException threads = assertThrows(IllegalArgumentException.class,
                () -> PoolOptions.builder().maxTasksPerChild(3).build());
        assertTrue(threads.getMessage().contains("maxTasksPerChild"), threads.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> PoolOptions.builder().isolation(Isolation.PROCESS).maxTasksPerChild(0).build());
        assertThrows(IllegalArgumentException.class, () -> PoolOptions.builder().isolation(null).build());
        assertNull(PoolOptions.DEFAULTS.initializer().orElse(null));
        assertEquals(Isolation.THREADS, PoolOptions.DEFAULTS.isolation());
    }
}
