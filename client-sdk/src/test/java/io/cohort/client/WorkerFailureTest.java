package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Worker JVMs that die: the work is run again elsewhere, the pool heals, nothing hangs. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WorkerFailureTest {

    @Test
    void aKilledWorkersTaskRunsAgainOnTheOtherWorkerAndTheWorkerShowsLost() throws Exception {
        try (CohortExecutor cohort = Cohort.local(LocalClusterConfig.builder().workers(2).slotsPerWorker(1).build());
             Gate gate = new Gate()) {
            LocalClusterTest.awaitActiveWorkers(cohort, 2);
            Gate.Handle h = gate.handle();
            TaskFuture<Long> task = cohort.submit(() -> {
                h.pass();
                return ProcessHandle.current().pid();
            });
            assertTrue(gate.awaitArrivals(1, 30), "the task started");
            LocalClusterTest.waitUntil(task::isRunning);
            String victim = task.workerId();
            long victimPid = pidOf(cohort, victim);
            assertTrue(ProcessHandle.of(victimPid).orElseThrow().destroyForcibly(), "kill -9 the worker");

            assertTrue(gate.awaitArrivals(1, 30), "the task started again elsewhere");
            gate.open();
            long ranOn = task.get(30, TimeUnit.SECONDS);
            assertNotEquals(victimPid, ranOn);
            assertNotEquals(victim, task.workerId());
            LocalClusterTest.waitUntil(() -> stateOf(cohort, victim) == WorkerState.LOST);
        }
    }

    @Test
    void aTaskThatHaltsItsJvmFailsAloneAfterItsRetriesWhileOthersSucceed() throws Exception {
        try (CohortExecutor cohort = Cohort.local(LocalClusterConfig.builder().workers(2).slotsPerWorker(2).build())) {
            TaskFuture<Object> halter = cohort.submit(() -> {
                Runtime.getRuntime().halt(1);
                return null;
            }, TaskOptions.builder().name("halter").build());
            List<TaskFuture<Integer>> others = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                int x = i;
                others.add(cohort.submit(() -> x * 2));
            }
            ExecutionException e = assertThrows(ExecutionException.class, () -> halter.get(90, TimeUnit.SECONDS));
            WorkerLostException lost = assertInstanceOf(WorkerLostException.class, e.getCause());
            assertTrue(lost.getMessage().contains("halter"), lost.getMessage());
            for (int i = 0; i < 100; i++) {
                assertEquals(i * 2, others.get(i).get(90, TimeUnit.SECONDS));
            }
            // The pool healed: replacements attached and take work.
            LocalClusterTest.awaitActiveWorkers(cohort, 2);
            assertEquals(5, cohort.submit(() -> 5).get(30, TimeUnit.SECONDS));
        }
    }

    /**
     * System.exit runs the JVM's shutdown hooks, as SIGTERM does; it must not be taken for a
     * drain, which would wait out the drain timeout (30 s) and then report a cancellation.
     */
    @Test
    void aTaskThatCallsSystemExitIsALostWorkerNotADrain() throws Exception {
        try (CohortExecutor cohort = Cohort.local(LocalClusterConfig.builder().workers(2).slotsPerWorker(1).build())) {
            LocalClusterTest.awaitActiveWorkers(cohort, 2);
            TaskFuture<Object> exits = cohort.submit(() -> {
                System.exit(4);
                return null;
            }, TaskOptions.builder().name("exits").maxRetries(0).build());
            List<TaskFuture<Integer>> others = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                int x = i;
                others.add(cohort.submit(() -> x + 1));
            }
            // well inside the drain timeout: a drain would still be waiting for the exiting task
            ExecutionException e = assertThrows(ExecutionException.class, () -> exits.get(20, TimeUnit.SECONDS));
            WorkerLostException lost = assertInstanceOf(WorkerLostException.class, e.getCause());
            assertTrue(lost.getMessage().contains("exits"), lost.getMessage());
            for (int i = 0; i < 50; i++) {
                assertEquals(i + 1, others.get(i).get(60, TimeUnit.SECONDS));
            }
            LocalClusterTest.waitUntil(() -> stateOf(cohort, exits.workerId()) == WorkerState.LOST);
            LocalClusterTest.awaitActiveWorkers(cohort, 2);   // replaced
            assertEquals(5, cohort.submit(() -> 5).get(30, TimeUnit.SECONDS));
        }
    }

    /**
     * An exception with a 40 MB message used to make a result over the stream's message limit:
     * the coordinator ended the worker's stream, the task was reported lost on every retry, and
     * every other task on that worker was lost with it. Now the worker cuts the message and the
     * task fails alone; the task running beside it (no retries allowed) finishes.
     */
    @Test
    void aTaskThrowingAHugeExceptionFailsAloneWithItsMessageCut() throws Exception {
        try (CohortExecutor cohort = Cohort.local(LocalClusterConfig.builder().workers(1).slotsPerWorker(2).build());
             Gate gate = new Gate()) {
            LocalClusterTest.awaitActiveWorkers(cohort, 1);
            Gate.Handle h = gate.handle();
            TaskOptions once = TaskOptions.builder().maxRetries(0).build();
            TaskFuture<String> beside = cohort.submit(() -> {
                h.pass();
                return "done";
            }, once);
            assertTrue(gate.awaitArrivals(1, 30), "the task beside it started");
            LocalClusterTest.waitUntil(beside::isRunning);
            String worker = beside.workerId();
            TaskFuture<Object> thrower = cohort.submit(() -> {
                throw new IllegalStateException("x".repeat(40_000_000));
            }, TaskOptions.builder().name("thrower").maxRetries(0).build());

            ExecutionException e = assertThrows(ExecutionException.class, () -> thrower.get(60, TimeUnit.SECONDS));
            RemoteTaskException failure = assertInstanceOf(RemoteTaskException.class, e.getCause(),
                    "the task's own failure, described (its serialized form is over the limit): " + e.getCause());
            assertEquals("java.lang.IllegalStateException", failure.remoteClassName());
            assertTrue(failure.remoteMessage().startsWith("xxxx"), failure.remoteMessage().substring(0, 20));
            assertTrue(failure.remoteMessage().length() <= 64 * 1024,
                    "cut to the limit: " + failure.remoteMessage().length());
            assertTrue(failure.remoteMessage().endsWith("[truncated: 40000000 chars in all]"),
                    failure.remoteMessage().substring(failure.remoteMessage().length() - 60));
            assertTrue(failure.getStackTrace().length > 0, "its frames came too");

            gate.open();
            assertEquals("done", beside.get(60, TimeUnit.SECONDS), "the task beside it was not lost");
            assertEquals(worker, beside.workerId());
            assertEquals(WorkerState.ACTIVE, stateOf(cohort, worker));
            assertEquals(7, cohort.submit(() -> 7, once).get(30, TimeUnit.SECONDS));
        }
    }

    static long pidOf(CohortExecutor cohort, String workerId) {
        return cohort.clusterInfo().workers().stream().filter(w -> w.id().equals(workerId))
                .findFirst().orElseThrow().pid();
    }

    static WorkerState stateOf(CohortExecutor cohort, String workerId) {
        return cohort.clusterInfo().workers().stream().filter(w -> w.id().equals(workerId))
                .map(WorkerInfo::state).findFirst().orElse(null);
    }
}
