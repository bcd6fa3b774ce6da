package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A worker that stops answering without closing its connection (SIGSTOP): the coordinator
 * declares it lost after the heartbeat timeout and runs its task elsewhere; when the worker
 * wakes up, its late result is dropped and it attaches again.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FrozenWorkerTest {

    @Test
    void aSilentWorkerIsLostAfterTheHeartbeatTimeoutAndItsLateResultIsDropped() throws Exception {
        try (CoordinatorServer coordinator = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                     .heartbeatTimeout(Duration.ofSeconds(3)).build());
             WorkerProcesses workers = new WorkerProcesses();
             Gate gate = new Gate()) {
            workers.start(coordinator.target(), "w1");
            workers.start(coordinator.target(), "w2");
            try (CohortExecutor cohort = Cohort.connect(coordinator.target())) {
                LocalClusterTest.waitUntil(() -> cohort.clusterInfo().workers().size() == 2, 90);   // fresh JVMs: slow to attach on a loaded machine
                Gate.Handle h = gate.handle();
                TaskFuture<Long> task = cohort.submit(() -> {
                    h.pass();
                    return ProcessHandle.current().pid();
                });
                assertTrue(gate.awaitArrivals(1, 30), "the task started");
                LocalClusterTest.waitUntil(task::isRunning);
                String frozen = task.workerId();
                long frozenPid = WorkerFailureTest.pidOf(cohort, frozen);
                signal("STOP", frozenPid);
                try {
                    assertTrue(gate.awaitArrivals(1, 30), "the task started again on the other worker");
                    assertEquals(WorkerState.LOST, WorkerFailureTest.stateOf(cohort, frozen));
                    gate.open();
                    long ranOn = task.get(30, TimeUnit.SECONDS);
                    assertNotEquals(frozenPid, ranOn);
                } finally {
                    signal("CONT", frozenPid);
                }
                // Awake again, the worker finishes its stale run (the gate is open) and comes back.
                LocalClusterTest.waitUntil(() -> WorkerFailureTest.stateOf(cohort, frozen) == WorkerState.ACTIVE);
                List<TaskFuture<Integer>> more = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    int x = i;
                    more.add(cohort.submit(() -> x));
                }
                for (int i = 0; i < 20; i++) {
                    assertEquals(i, more.get(i).get(30, TimeUnit.SECONDS));
                }
                // One completion for the first task, not two: the stale result was dropped.
                assertEquals(21, cohort.clusterInfo().completedTasks());
            }
        }
    }

    private static void signal(String name, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -" + name + " " + pid);
    }
}
