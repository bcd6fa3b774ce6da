package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import example.fenced.Admitted;
import example.fenced.Fenced;
import io.cohort.proto.v1.Isolation;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A configured allow-list on a real local cluster: {@code Cohort.local} hands it to its worker
 * JVM ({@code --deserialization-filter}), which hands it to its child JVMs, and to its own
 * client. The allow-list admits {@link Admitted} and the JDK's classes, not {@link Fenced}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DeserializationFilterTest {
    private static final String ALLOW = "example.fenced.Admitted;java.base/*;!*";
    private static RemoteExecutor cohort;

    @BeforeAll
    static void startCluster() {
        cohort = (RemoteExecutor) Cohort.local(LocalClusterConfig.builder().workers(1).slotsPerWorker(2)
                .deserializationFilter(ALLOW).build());
    }

    @AfterAll
    static void stopCluster() {
        cohort.close();
    }

    private static Throwable failure(TaskFuture<?> f) {
        return assertThrows(ExecutionException.class, () -> f.get(60, TimeUnit.SECONDS)).getCause();
    }

    private static void assertRefusedOnTheWorker(Throwable cause) {
        String m = cause.getMessage();
        assertTrue(m.contains("example.fenced.Fenced") && m.contains("--deserialization-filter")
                && m.contains("to allow it") && m.contains(ALLOW), m);
    }

    @Test
    void aWorkerRefusesAnArgumentOutsideItsAllowListAndRunsTheOthers() throws Exception {
        TaskFuture<Integer> fenced = cohort.submit((Fenced f) -> f.n() * 2, new Fenced(3));
        TaskFuture<Integer> admitted = cohort.submit((Admitted a) -> a.n() * 2, new Admitted(4));
        TaskFuture<Integer> lambda = cohort.submit(() -> 6 * 7);
        assertRefusedOnTheWorker(failure(fenced));
        assertEquals(8, admitted.get(60, TimeUnit.SECONDS));
        assertEquals(42, lambda.get(60, TimeUnit.SECONDS));
        assertEquals(fenced.workerId(), admitted.workerId(), "the same worker refused one and ran the other");
    }

    @Test
    void childJvmsOfTheWorkerGetTheSameFilter() throws Exception {
        TaskFuture<Integer> fenced = cohort.submitShaped((Fenced f) -> f.n() * 2, new Fenced(5), TaskOptions.DEFAULTS,
                spec -> spec.setIsolation(Isolation.PROCESS).setIsolationGroup("filtered"));
        TaskFuture<Long> inChild = cohort.submitShaped((Admitted a) -> ProcessHandle.current().pid(), new Admitted(1),
                TaskOptions.DEFAULTS, spec -> spec.setIsolation(Isolation.PROCESS).setIsolationGroup("filtered"));
        assertRefusedOnTheWorker(failure(fenced));
        long childPid = inChild.get(60, TimeUnit.SECONDS);
        assertTrue(childPid != ProcessHandle.current().pid()
                && cohort.clusterInfo().workers().stream().noneMatch(w -> w.pid() == childPid),
                "the admitted task ran in a child JVM");
    }

    @Test
    void theClientRefusesAResultOutsideItsAllowList() throws Exception {
        TaskFuture<Fenced> fenced = cohort.submit(() -> new Fenced(1));
        Throwable cause = failure(fenced);
        assertInstanceOf(CohortException.class, cause);
        String m = cause.getMessage();
        assertTrue(m.contains("example.fenced.Fenced") && m.contains("ClientConfig.Builder.deserializationFilter")
                && m.contains("to allow it"), m);
        assertEquals(new Admitted(2), cohort.submit(() -> new Admitted(2)).get(60, TimeUnit.SECONDS));
    }
}
