package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** How {@code Cohort.local} starts and stops: what a user waits for, and what it does when workers cannot start. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class LocalStartupTest {

    @Test
    void localReturnsWithTheFirstWorkerWhileAnotherIsStillStartingAndTheFirstTaskRuns(@TempDir Path tmp) throws Exception {
        // The second worker JVM pauses at its very start until this file is gone (a HotSpot diagnostic flag).
        Path pause = tmp.resolve("second-worker.paused");
        List<String> paused = List.of("-XX:+UnlockDiagnosticVMOptions", "-XX:+PauseAtStartup",
                "-XX:PauseAtStartupFile=" + pause);
        LocalClusterConfig config = LocalClusterConfig.builder().workers(2).slotsPerWorker(3).build();
        LocalCluster cluster = LocalCluster.start(config, n -> n == 2 ? paused : List.of());
        long[] pids;
        try (CohortExecutor cohort = Cohort.local(cluster, config)) {
            assertEquals(42, cohort.submit(() -> 6 * 7).get(30, TimeUnit.SECONDS));
            assertTrue(Files.exists(pause), "the second worker is still paused");
            assertEquals(1, cohort.clusterInfo().workers().size(), "only the first worker is attached");
            assertEquals(6, ((RemoteExecutor) cohort).totalSlots(), "map chunks for every configured slot");
            assertEquals(List.of(1, 4, 9), cohort.map((Integer x) -> x * x, List.of(1, 2, 3)).toList());

            Files.delete(pause);
            LocalClusterTest.waitUntil(() -> cohort.clusterInfo().workers().size() == 2, 90);   // fresh JVMs: slow to attach on a loaded machine
            pids = cohort.clusterInfo().workers().stream().mapToLong(WorkerInfo::pid).toArray();
        }
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false),
                    "close() stopped worker " + pid);
        }
    }

    @Test
    void workerJvmsThatCannotStartFailLocalAtOnceInsteadOfAtTheStartTimeout() {
        LocalClusterConfig config = LocalClusterConfig.builder().workers(2)
                .jvmOptions(List.of("-XX:+CohortNoSuchVmOption")).startTimeout(Duration.ofMinutes(10)).build();
        CohortException e = assertThrows(CohortException.class, () -> Cohort.local(config));
        assertTrue(e.getMessage().contains("exited before attaching"), e.getMessage());
        assertTrue(e.getMessage().contains("-XX:+CohortNoSuchVmOption"), e.getMessage());
    }
}
