package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.WorkerStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every capturing lambda is a new function definition: client, coordinator and worker keep only
 * those a live task uses plus a bounded number of others, and a client whose function the
 * coordinator dropped defines it again. A real coordinator and worker JVM.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FunctionDefinitionsTest {
    private static final int IDLE_PER_CLIENT = 128;
    /** The coordinator's cap for what a worker keeps unused (Scheduler.IDLE_FUNCTIONS_PER_WORKER). */
    private static final int IDLE_PER_WORKER = 256;

    private CoordinatorServer coordinator;
    private WorkerProcesses workers;
    private CohortExecutor client;

    @BeforeEach
    void start() throws Exception {
        coordinator = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .maxIdleFunctionsPerClient(IDLE_PER_CLIENT).build());
        workers = new WorkerProcesses();
        workers.start(coordinator.target(), "w-defs");
        client = Cohort.connect(ClientConfig.builder().target(coordinator.target()).build());
        LocalClusterTest.waitUntil(() -> client.clusterInfo().workers().size() == 1, 90);
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        workers.close();
        coordinator.close();
    }

    private StatusResponse status() throws Exception {
        return coordinator.status().get(30, TimeUnit.SECONDS);
    }

    @Test
    void tenThousandDistinctCapturingLambdasLeaveEveryDefinitionTableBoundedAndEveryResultRight() throws Exception {
        int n = 10_000;
        List<TaskFuture<Integer>> futures = new ArrayList<>(n);
        long worst = 0;
        for (int i = 0; i < n; i++) {
            int k = i;
            futures.add(client.submit((Integer x) -> x * 3 + k, i));   // captures k: a definition of its own
            if (i % 1_000 == 999) {
                StatusResponse s = status();
                // Held: those live tasks use, and at most the cap of others.
                worst = Math.max(worst, s.getFunctionDefinitions() - s.getQueuedTasks() - s.getRunningTasks());
            }
        }
        for (int i = 0; i < n; i++) {
            assertEquals(i * 4, futures.get(i).get(120, TimeUnit.SECONDS), "task " + i);
        }
        assertTrue(worst <= IDLE_PER_CLIENT, "the coordinator held " + worst + " unused definitions");
        StatusResponse after = status();
        assertTrue(after.getFunctionDefinitions() <= IDLE_PER_CLIENT,
                "the coordinator holds " + after.getFunctionDefinitions() + " definitions of " + n);
        WorkerStatus w = after.getWorkers(0);
        assertTrue(w.getFunctionDefinitions() <= IDLE_PER_WORKER,
                "the worker was left with " + w.getFunctionDefinitions() + " definitions of " + n);
        int kept = ((RemoteExecutor) client).session().functionsKept();
        assertTrue(kept <= Session.KEPT_FUNCTIONS, "the client remembers " + kept + " definitions of " + n);
    }

    @Test
    void aFunctionTheCoordinatorDroppedIsDefinedAgainWhenItIsUsedAgain() throws Exception {
        RemoteFunction<Integer, Integer> reused = x -> x + 1;
        assertEquals(2, client.submit(reused, 1).get(60, TimeUnit.SECONDS));
        // Enough other functions, run to the end, for the coordinator to drop the first (the
        // client, which keeps more, still counts it as defined).
        List<TaskFuture<Integer>> others = new ArrayList<>();
        for (int i = 0; i < 2 * IDLE_PER_CLIENT; i++) {
            int k = i;
            others.add(client.submit((Integer x) -> x + k, 0));
        }
        for (int i = 0; i < others.size(); i++) {
            assertEquals(i, others.get(i).get(60, TimeUnit.SECONDS));
        }
        long completedBefore = status().getCompletedTasks();
        assertEquals(8, client.submit(reused, 7).get(60, TimeUnit.SECONDS), "refused once, then defined again and run");
        assertEquals(completedBefore + 2, status().getCompletedTasks(),
                "the coordinator refused the task once (it had dropped the function), then ran it");
    }
}
