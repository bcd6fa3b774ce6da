package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Labels and resources place tasks on the workers that offer them; what no worker offers fails clearly. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class PlacementRulesTest {

    @Test
    void tasksGoWhereTheirLabelsAndResourcesAreAndTheImpossibleIsRejected() throws Exception {
        CoordinatorConfig config = CoordinatorConfig.builder().port(0).placementTimeout(Duration.ofSeconds(1)).build();
        try (CoordinatorServer coordinator = CoordinatorServer.start(config);
             WorkerProcesses workers = new WorkerProcesses()) {
            workers.start(coordinator.target(), "plain");
            workers.start(coordinator.target(), "gpu-box", "--labels", "zone=a,gpu", "--resources", "gpu=1");
            try (CohortExecutor cohort = Cohort.connect(coordinator.target())) {
                LocalClusterTest.waitUntil(() -> cohort.clusterInfo().workers().size() == 2, 90);   // fresh JVMs: slow to attach on a loaded machine

                TaskOptions needsGpu = TaskOptions.builder().labels(Set.of("gpu")).resources(Map.of("gpu", 1.0)).build();
                for (int i = 0; i < 6; i++) {
                    TaskFuture<Integer> f = cohort.submit(() -> 1, needsGpu);
                    assertEquals(1, f.get(30, TimeUnit.SECONDS));
                    assertEquals("gpu-box", f.workerId());
                }

                TaskFuture<Integer> impossible = cohort.submit(() -> 1,
                        TaskOptions.builder().labels(Set.of("tpu")).name("wants-tpu").build());
                ExecutionException e = assertThrows(ExecutionException.class, () -> impossible.get(30, TimeUnit.SECONDS));
                CohortException why = assertInstanceOf(CohortException.class, e.getCause());
                assertTrue(why.getMessage().contains("tpu"), why.getMessage());

                assertEquals(2, cohort.submit(() -> 2).get(30, TimeUnit.SECONDS), "everything else carries on");
            }
        }
    }
}
