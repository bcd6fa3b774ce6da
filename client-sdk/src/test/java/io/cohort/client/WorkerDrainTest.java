package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A worker daemon sent SIGTERM drains: running work finishes, unstarted work moves on, exit 0. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class WorkerDrainTest {
    @Test
    void sigtermLetsTheRunningTaskFinishHandsBackTheRestAndExitsZero() throws Exception {
        try (CoordinatorServer coordinator = CoordinatorServer.start(CoordinatorConfig.builder().port(0).build());
             WorkerProcesses workers = new WorkerProcesses();
             Gate gate = new Gate()) {
            Process first = workers.start(coordinator.target(), "drain-1", "--prefetch", "1");
            try (CohortExecutor cohort = Cohort.connect(coordinator.target())) {
                LocalClusterTest.waitUntil(() -> cohort.clusterInfo().workers().size() == 1, 90);   // fresh JVMs: slow to attach on a loaded machine
                Gate.Handle h = gate.handle();
                TaskFuture<Long> running = cohort.submit(() -> {
                    h.pass();
                    return ProcessHandle.current().pid();
                });
                TaskFuture<Long> waiting = cohort.submit(() -> ProcessHandle.current().pid());
                assertTrue(gate.awaitArrivals(1, 30));

                first.destroy();   // SIGTERM
                LocalClusterTest.waitUntil(() -> WorkerFailureTest.stateOf(cohort, "drain-1") != WorkerState.ACTIVE);
                gate.open();
                assertEquals(first.pid(), running.get(30, TimeUnit.SECONDS), "the running task finished there");
                assertTrue(first.waitFor(30, TimeUnit.SECONDS));
                assertEquals(0, first.exitValue());

                Process second = workers.start(coordinator.target(), "drain-2");
                assertEquals(second.pid(), waiting.get(30, TimeUnit.SECONDS), "the unstarted task ran elsewhere");
                assertNotEquals(first.pid(), second.pid());
            }
        }
    }
}
