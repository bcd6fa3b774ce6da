package io.cohort.coordinator.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random event sequences with the invariants checked after every step; at the end a worker
 * that fits everything drains the queue and every task of an open session must have exactly
 * one result (nothing hangs, nothing is answered twice).
 */
class SchedulerRandomTest {
    private static final TaskStatus[] ENDINGS = {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED,
            TaskStatus.TIMED_OUT, TaskStatus.RETURNED, TaskStatus.WORKER_LOST};

    private final Sim sim = new Sim();
    private final Map<Long, Map<Long, Integer>> resultsBySession = new HashMap<>();
    private final Map<Long, Long> nextTaskId = new HashMap<>();
    private final Map<Long, Map<Long, Command.Assign>> assignsByWorker = new LinkedHashMap<>();
    private final Set<Long> closedSessions = new java.util.HashSet<>();

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
    void randomHistoriesKeepInvariantsAndAnswerEveryTaskOnce(long seed) {
        Random rnd = new Random(seed);
        long nextStream = 1;
        for (int step = 0; step < 1000; step++) {
            int action = rnd.nextInt(100);
            List<Long> sessions = new ArrayList<>(resultsBySession.keySet());
            sessions.removeAll(closedSessions);
            List<Long> workers = new ArrayList<>(assignsByWorker.keySet());
            if (action < 5 || sessions.isEmpty()) {
                long s = nextStream++;
                resultsBySession.put(s, new HashMap<>());
                record(sim.client(s));
            } else if (action < 7) {
                long s = sessions.get(rnd.nextInt(sessions.size()));
                closedSessions.add(s);
                record(sim.on(new Event.SessionClosed(s)));
            } else if (action < 40) {
                long s = sessions.get(rnd.nextInt(sessions.size()));
                long id = nextTaskId.merge(s, 1L, Long::sum);
                TaskPolicy.Builder p = TaskPolicy.newBuilder().setPriority(rnd.nextInt(3) - 1);
                if (rnd.nextInt(4) == 0) {
                    p.addLabels("zone=a");
                }
                if (rnd.nextInt(4) == 0) {
                    p.putResources("gpu", 1 + rnd.nextInt(2));
                }
                if (rnd.nextBoolean()) {
                    p.setMaxRetries(rnd.nextInt(3));
                }
                resultsBySession.get(s).put(id, 0);
                if (rnd.nextInt(8) == 0) {   // a process task: holds no credit
                    record(sim.on(new Event.TaskSubmitted(s, id, Sim.BODY.toBuilder()
                            .setProcess(io.cohort.proto.v1.ProcessSpec.getDefaultInstance()).build(), p.build())));
                } else {
                    record(sim.submit(s, id, p.build()));
                }
            } else if (action < 45) {
                long s = sessions.get(rnd.nextInt(sessions.size()));
                long max = nextTaskId.getOrDefault(s, 0L);
                record(sim.on(new Event.CancelRequested(s, 1 + rnd.nextInt((int) max + 1), rnd.nextBoolean(),
                        rnd.nextInt(4) == 0 ? 9 : 0)));
            } else if (action < 50 || workers.isEmpty()) {
                long w = nextStream++;
                assignsByWorker.put(w, new LinkedHashMap<>());
                record(sim.worker(w, "", 1 + rnd.nextInt(3), rnd.nextInt(3),
                        rnd.nextBoolean() ? Map.of("gpu", (double) rnd.nextInt(3)) : Map.of(),
                        rnd.nextBoolean() ? Set.of("zone=a") : Set.of()));
            } else if (action < 53) {
                long w = workers.get(rnd.nextInt(workers.size()));
                assignsByWorker.remove(w);
                record(sim.on(new Event.WorkerLost(w, "random")));
            } else if (action < 55) {
                record(sim.on(new Event.WorkerDraining(workers.get(rnd.nextInt(workers.size())))));
            } else if (action < 95) {
                long w = workers.get(rnd.nextInt(workers.size()));
                List<Command.Assign> held = new ArrayList<>(assignsByWorker.get(w).values());
                if (!held.isEmpty()) {
                    Command.Assign a = held.get(rnd.nextInt(held.size()));
                    if (rnd.nextBoolean()) {
                        record(sim.started(w, a));
                    } else {
                        assignsByWorker.get(w).remove(a.assign().getTaskKey());
                        record(sim.result(w, a, ENDINGS[rnd.nextInt(ENDINGS.length)]));
                    }
                }
            } else {
                for (long w : workers) {
                    record(sim.on(new Event.WorkerHeard(w)));
                }
                record(sim.tick(rnd.nextInt(8000)));
            }
        }
        // Quiesce: one worker that fits everything; every other worker finishes what it holds.
        long big = nextStream++;
        assignsByWorker.put(big, new LinkedHashMap<>());
        record(sim.worker(big, "big", 8, 0, Map.of("gpu", 2.0), Set.of("zone=a")));
        for (int round = 0; round < 100_000 && sim.s.queuedCount() + sim.s.runningCount() > 0; round++) {
            for (long w : new ArrayList<>(assignsByWorker.keySet())) {
                for (Command.Assign a : new ArrayList<>(assignsByWorker.get(w).values())) {
                    assignsByWorker.get(w).remove(a.assign().getTaskKey());
                    record(sim.result(w, a, TaskStatus.SUCCEEDED));
                }
            }
        }
        assertEquals(0, sim.s.queuedCount() + sim.s.runningCount(), "tasks left behind");
        resultsBySession.forEach((session, results) -> {
            if (!closedSessions.contains(session)) {
                results.forEach((id, count) -> assertEquals(1, count, "results for task " + id + " of " + session));
            }
        });
    }

    private void record(List<Command> commands) {
        for (Command c : commands) {
            if (c instanceof Command.Assign a) {
                Map<Long, Command.Assign> held = assignsByWorker.get(a.stream());
                assertTrue(held != null, "assign to an unknown worker");
                held.put(a.assign().getTaskKey(), a);
            } else if (c instanceof Command.SendResult r) {
                assertTrue(!closedSessions.contains(r.stream()), "result sent to a closed session");
                resultsBySession.get(r.stream()).merge(r.result().getTaskId(), 1, Integer::sum);
            } else if (c instanceof Command.CloseStream close) {
                assignsByWorker.remove(close.stream());
                if (resultsBySession.containsKey(close.stream())) {
                    closedSessions.add(close.stream());
                }
            }
        }
    }
}
