package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A worker daemon sent SIGTERM drains: running work finishes, unstarted work moves on, exit 0. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class WorkerDrainTest {
    private final List<Process> started = new ArrayList<>();

    private Process worker(String target, String id) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.cohort.worker.WorkerMain",
                "--coordinator", target, "--id", id, "--slots", "1", "--prefetch", "1", "--quiet",
                "--parent-pid", Long.toString(ProcessHandle.current().pid()))
                .inheritIO().start();
        started.add(p);
        return p;
    }

    @Test
    void sigtermLetsTheRunningTaskFinishHandsBackTheRestAndExitsZero() throws Exception {
        try (CoordinatorServer coordinator = CoordinatorServer.start(CoordinatorConfig.builder().port(0).build());
             Gate gate = new Gate()) {
            Process first = worker(coordinator.target(), "drain-1");
            try (CohortExecutor cohort = Cohort.connect(coordinator.target())) {
                LocalClusterTest.waitUntil(() -> cohort.clusterInfo().workers().size() == 1);
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

                Process second = worker(coordinator.target(), "drain-2");
                assertEquals(second.pid(), waiting.get(30, TimeUnit.SECONDS), "the unstarted task ran elsewhere");
                assertNotEquals(first.pid(), second.pid());
            }
        } finally {
            for (Process p : started) {
                p.destroyForcibly();
            }
        }
    }
}
