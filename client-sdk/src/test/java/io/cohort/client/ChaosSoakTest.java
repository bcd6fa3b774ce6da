package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import io.cohort.coordinator.JournalMode;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A bounded chaos soak: 200,000 tasks (about 3 minutes on 2 cores; -Dcohort.soak.tasks=N for another size) while a worker JVM is killed with
 * kill -9 every three seconds and replaced, and the coordinator is stopped and restarted on its
 * port over its journal, up to three times. At the end every future has completed exactly once
 * with the right result.
 *
 * <p>Each restart hands the client, at once, the results held for it while it was away: one
 * message with thousands of results, which parses differently from small ones.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ChaosSoakTest {
    private static final int TASKS = Integer.getInteger("cohort.soak.tasks", 200_000);
    private static final int WORKERS = 3;
    private static final int RESTARTS = 3;
    /**
     * A worker here lives about nine seconds, so it runs cold: the client compiler alone warms
     * it several times sooner (measured: see the closing note of this change).
     */
    private static final List<String> WORKER_JVM = List.of(System.getProperty("cohort.soak.jvm",
            "-XX:TieredStopAtLevel=1").split(" "));

    /** The restarted coordinator carries on from its predecessor's journal, and the client resumes its session. */
    @TempDir
    Path journal;

    @Test
    void everyFutureCompletesOnceWithTheRightResultThroughKillsAndACoordinatorRestart() throws Exception {
        AtomicReference<CoordinatorServer> coordinator = new AtomicReference<>(
                CoordinatorServer.start(CoordinatorConfig.builder().port(0).heartbeatTimeout(Duration.ofSeconds(5))
                        .journal(JournalMode.BATCH, journal).build()));
        int port = coordinator.get().port();
        String target = coordinator.get().target();
        AtomicIntegerArray completions = new AtomicIntegerArray(TASKS);
        AtomicInteger wrong = new AtomicInteger();
        AtomicReference<String> firstWrong = new AtomicReference<>();
        AtomicReference<Throwable> firstFailure = new AtomicReference<>();
        CountDownLatch allDone = new CountDownLatch(TASKS);
        int kills = 0;
        int restarts = 0;
        long start = System.nanoTime();
        try (WorkerProcesses workers = new WorkerProcesses()) {
            Map<String, Process> alive = new HashMap<>();
            int generation = 0;
            for (int i = 0; i < WORKERS; i++) {
                String id = "soak-" + (generation++);
                alive.put(id, workers.start(WORKER_JVM, target, id));
            }
            try (CohortExecutor cohort = Cohort.connect(ClientConfig.builder().target(target)
                    .reconnectTimeout(Duration.ofMinutes(2)).maxInFlight(20_000).build())) {
                TaskOptions retries = TaskOptions.builder().maxRetries(20).build();
                Thread submitter = new Thread(() -> {
                    for (int i = 0; i < TASKS; i++) {
                        int index = i;
                        cohort.submit((Integer x) -> 2 * x + 1, i, retries).whenComplete((v, e) -> {
                            completions.incrementAndGet(index);
                            if (e != null) {
                                firstFailure.compareAndSet(null, e);
                            } else if (v != 2 * index + 1) {
                                wrong.incrementAndGet();
                                firstWrong.compareAndSet(null, "task " + index + " returned " + v);
                            }
                            allDone.countDown();
                        });
                    }
                }, "soak-submitter");
                submitter.start();

                Random random = new Random(42);
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(8);
                // Chaos until the work is done: bounded by count (the tasks) and time (the deadline).
                // Only attached workers are killed, and only while another one works, so the job moves.
                while (!allDone.await(3, TimeUnit.SECONDS) && System.nanoTime() < deadline) {
                    List<WorkerInfo> seen;
                    try {
                        seen = cohort.clusterInfo().workers();
                    } catch (CohortException restarting) {
                        continue;   // the coordinator is between lives
                    }
                    List<String> active = new ArrayList<>();
                    for (WorkerInfo w : seen) {
                        if (w.state() == WorkerState.ACTIVE && alive.containsKey(w.id())) {
                            active.add(w.id());
                        }
                    }
                    System.out.printf("chaos soak: %.0f s, %d of %d done, %d workers active, %d kills%n",
                            (System.nanoTime() - start) / 1e9, TASKS - allDone.getCount(), TASKS, active.size(), kills);
                    if (active.size() < 2) {
                        continue;
                    }
                    String victim = active.get(random.nextInt(active.size()));
                    alive.remove(victim).destroyForcibly();   // kill -9, by the pid we started
                    String id = "soak-" + (generation++);
                    alive.put(id, workers.start(WORKER_JVM, target, id));
                    kills++;
                    if (restarts < RESTARTS && allDone.getCount() < TASKS * 2L / 3) {
                        coordinator.get().close();
                        coordinator.set(CoordinatorServer.start(CoordinatorConfig.builder().port(port)
                                .heartbeatTimeout(Duration.ofSeconds(5)).journal(JournalMode.BATCH, journal).build()));
                        restarts++;
                    }
                }
                submitter.join(TimeUnit.MINUTES.toMillis(1));
                assertTrue(allDone.await(1, TimeUnit.SECONDS), TASKS - allDone.getCount() + " of " + TASKS
                        + " futures completed; first failure: " + firstFailure.get());
            }
        } finally {
            coordinator.get().close();
        }
        int lost = 0;
        int duplicates = 0;
        for (int i = 0; i < TASKS; i++) {
            lost += completions.get(i) == 0 ? 1 : 0;
            duplicates += Math.max(0, completions.get(i) - 1);
        }
        System.out.printf("chaos soak: tasks=%d kills=%d coordinatorRestarts=%d lost=%d duplicates=%d wrong=%d "
                        + "(first: %s) failed=%s seconds=%.1f%n", TASKS, kills, restarts, lost, duplicates, wrong.get(),
                firstWrong.get(), firstFailure.get(), (System.nanoTime() - start) / 1e9);
        assertEquals(null, firstFailure.get());
        assertEquals(0, lost);
        assertEquals(0, duplicates);
        assertEquals(0, wrong.get(), "wrong results; the first: " + firstWrong.get());
        assertTrue(kills > 0, "at least one worker was killed");
        assertTrue(restarts >= 1, "the coordinator was restarted");
    }
}
