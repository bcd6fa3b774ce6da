package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client whose stream is lost reconnects within its reconnect policy and sends its
 * unanswered tasks again: a coordinator restart fails no future. Only the policy running out does.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReconnectTest {

    @Test
    void aCoordinatorRestartOnTheSamePortFailsNoFuture() throws Exception {
        CoordinatorServer first = CoordinatorServer.start(CoordinatorConfig.builder().port(0).build());
        int port = first.port();
        CoordinatorServer second = null;
        try (WorkerProcesses workers = new WorkerProcesses(); Gate gate = new Gate()) {
            workers.start(first.target(), "w1");
            try (CohortExecutor cohort = Cohort.connect(ClientConfig.builder().target(first.target())
                    .reconnectTimeout(Duration.ofSeconds(60)).build())) {
                LocalClusterTest.waitUntil(() -> cohort.clusterInfo().workers().size() == 1, 90);   // fresh JVMs: slow to attach on a loaded machine
                Gate.Handle h = gate.handle();
                List<TaskFuture<Integer>> futures = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    futures.add(cohort.submit((Integer x) -> {
                        h.pass();
                        return x * 3;
                    }, i));
                }
                assertTrue(gate.awaitArrivals(1, 30), "the first task runs");
                first.close();   // every stream breaks, as when the coordinator's process dies

                // Submitted while no coordinator is there: held and sent after the reconnect.
                TaskFuture<Integer> during = cohort.submit((Integer x) -> x + 1, 41);
                second = CoordinatorServer.start(CoordinatorConfig.builder().port(port).build());
                gate.open();
                for (int i = 0; i < 10; i++) {
                    assertEquals(i * 3, futures.get(i).get(60, TimeUnit.SECONDS));
                }
                assertEquals(42, during.get(60, TimeUnit.SECONDS));
                assertEquals(7, cohort.submit(() -> 7).get(30, TimeUnit.SECONDS));
            }
        } finally {
            first.close();
            if (second != null) {
                second.close();
            }
        }
    }

    @Test
    void whenTheReconnectPolicyRunsOutPendingFuturesFailClearly() throws Exception {
        CoordinatorServer coordinator = CoordinatorServer.start(CoordinatorConfig.builder().port(0).build());
        try (CohortExecutor cohort = Cohort.connect(ClientConfig.builder().target(coordinator.target())
                .reconnectTimeout(Duration.ofMillis(500)).build())) {
            TaskFuture<Integer> stuck = cohort.submit(() -> 1);   // no worker: it waits in the queue
            coordinator.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> stuck.get(30, TimeUnit.SECONDS));
            CohortException why = assertInstanceOf(CohortException.class, e.getCause());
            assertTrue(why.getMessage().contains("could not reconnect within 500 ms"), why.getMessage());
        } finally {
            coordinator.close();
        }
    }

    @Test
    void withoutAReconnectPolicyALostSessionFailsAtOnce() throws Exception {
        CoordinatorServer coordinator = CoordinatorServer.start(CoordinatorConfig.builder().port(0).build());
        try (CohortExecutor cohort = Cohort.connect(ClientConfig.builder().target(coordinator.target())
                .reconnectTimeout(Duration.ZERO).build())) {
            TaskFuture<Integer> stuck = cohort.submit(() -> 1);
            coordinator.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> stuck.get(30, TimeUnit.SECONDS));
            assertInstanceOf(CohortException.class, e.getCause());
        } finally {
            coordinator.close();
        }
    }
}
