package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** ClientConfig.maxInFlight: at the limit, submit blocks or is refused, as the client chose. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BackpressureTest {
    private static CohortExecutor cluster;

    @BeforeAll
    static void start() {
        cluster = Cohort.local(LocalClusterConfig.builder().workers(1).slotsPerWorker(4).build());
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static CohortExecutor client(int maxInFlight, boolean block) {
        return Cohort.connect(((RemoteExecutor) cluster).anotherClient()
                .maxInFlight(maxInFlight).blockWhenFull(block).build());
    }

    private static List<TaskFuture<Integer>> blocked(CohortExecutor ex, Gate.Handle h, int n) {
        List<TaskFuture<Integer>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int x = i;
            futures.add(ex.submit(() -> {
                h.pass();
                return x;
            }));
        }
        return futures;
    }

    @Test
    void theCoordinatorsBoundPerClientIsKeptByTheClientToo() throws Exception {
        io.cohort.coordinator.CoordinatorServer small = io.cohort.coordinator.CoordinatorServer.start(
                io.cohort.coordinator.CoordinatorConfig.builder().port(0).maxTasksPerClient(2).build());
        try (Gate gate = new Gate(); WorkerProcesses workers = new WorkerProcesses();
             CohortExecutor ex = Cohort.connect(ClientConfig.builder().target(small.target()).blockWhenFull(false).build())) {
            workers.start(small.target(), "w-bound");
            List<TaskFuture<Integer>> futures = blocked(ex, gate.handle(), 2);
            // No maxInFlight of its own: the client took the coordinator's bound when it connected.
            RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> ex.submit(() -> 9));
            assertTrue(e.getMessage().contains("maxInFlight"), e.getMessage());
            gate.open();
            assertEquals(0, futures.get(0).get(60, TimeUnit.SECONDS));
            assertEquals(1, futures.get(1).get(60, TimeUnit.SECONDS));
            assertEquals(9, ex.submit(() -> 9).get(60, TimeUnit.SECONDS));
        } finally {
            small.close();
        }
    }

    @Test
    void atTheLimitSubmitIsRefusedWhenTheClientSaidNotToBlock() throws Exception {
        try (Gate gate = new Gate(); CohortExecutor ex = client(3, false)) {
            List<TaskFuture<Integer>> futures = blocked(ex, gate.handle(), 3);
            RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> ex.submit(() -> 9));
            assertTrue(e.getMessage().contains("maxInFlight"), e.getMessage());
            gate.open();
            for (int i = 0; i < 3; i++) {
                assertEquals(i, futures.get(i).get(20, TimeUnit.SECONDS));
            }
            assertEquals(9, ex.submit(() -> 9).get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void atTheLimitSubmitWaitsForRoom() throws Exception {
        try (Gate gate = new Gate(); CohortExecutor ex = client(2, true)) {
            List<TaskFuture<Integer>> futures = blocked(ex, gate.handle(), 2);
            assertTrue(gate.awaitArrivals(2, 20));
            CompletableFuture<TaskFuture<Integer>> third = new CompletableFuture<>();
            Thread submitter = new Thread(() -> third.complete(ex.submit(() -> 7)), "third-submit");
            submitter.start();
            LocalClusterTest.waitUntil(() -> submitter.getState() == Thread.State.WAITING);
            assertFalse(third.isDone(), "the third submit waits while two tasks are in flight");
            gate.open();
            assertEquals(7, third.get(20, TimeUnit.SECONDS).get(20, TimeUnit.SECONDS));
            for (int i = 0; i < 2; i++) {
                assertEquals(i, futures.get(i).get(20, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void theLimitIsChecked() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClientConfig.builder().target("127.0.0.1:1").maxInFlight(0).build());
        assertTrue(e.getMessage().contains("maxInFlight"), e.getMessage());
        assertTrue(ClientConfig.builder().target("127.0.0.1:1").build().maxInFlight().isEmpty());
    }
}
