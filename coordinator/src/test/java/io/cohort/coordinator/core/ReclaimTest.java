package io.cohort.coordinator.core;

import static io.cohort.coordinator.core.Sim.all;
import static io.cohort.coordinator.core.Sim.named;
import static io.cohort.coordinator.core.Sim.only;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Prefetch without head-of-line blocking, on the scheduler alone (fake clock, no sockets): a
 * task prefetched to a worker whose slots are held by tasks that do not end is asked back
 * (TaskCancelOrder.reclaim) for a worker the queue leaves idle, and each task starts once.
 */
class ReclaimTest {
    private static final long C = 1;
    private static final long A = 101;
    private static final long B = 102;
    private static final long MICROSECOND = 1_000;
    private static final long MILLISECOND = 1_000_000;

    private final Sim sim = new Sim();
    private final Map<Long, Integer> results = new HashMap<>();
    /** Checks every invariant after each event (O(queued tasks) each: the long test checks at each tick). */
    private boolean validateEach = true;

    /** Sends the event and counts the results the client gets, by task id. */
    private List<Command> on(Event e) {
        List<Command> out = validateEach ? sim.on(e) : sim.s.handle(e);
        for (Command.SendResult r : all(out, Command.SendResult.class)) {
            results.merge(r.result().getTaskId(), 1, Integer::sum);
        }
        return out;
    }

    private List<Command> submit(long taskId) {
        return on(new Event.TaskSubmitted(C, taskId, Sim.BODY, named("t" + taskId)));
    }

    private List<Command> started(long worker, Command.Assign a) {
        return on(new Event.TaskStartedOnWorker(worker, a.assign().getTaskKey(), a.assign().getAttempt()));
    }

    private List<Command> ended(long worker, Command.Assign a, TaskStatus status, long runNanos) {
        return on(new Event.TaskEnded(worker, WorkerTaskResult.newBuilder().setTaskKey(a.assign().getTaskKey())
                .setAttempt(a.assign().getAttempt()).setStatus(status).setRunNanos(runNanos).build()));
    }

    private List<Command> ended(long worker, Command.Assign a, TaskStatus status) {
        return ended(worker, a, status, 0);
    }

    /** Started, then ended SUCCEEDED. */
    private List<Command> runs(long worker, Command.Assign a) {
        List<Command> out = new ArrayList<>(started(worker, a));
        out.addAll(ended(worker, a, TaskStatus.SUCCEEDED));
        return out;
    }

    private List<Command> tick(long millis) {
        List<Command> out = new ArrayList<>();
        for (long w : List.of(A, B)) {
            out.addAll(on(new Event.WorkerHeard(w)));
        }
        out.addAll(sim.tick(millis));
        sim.s.validate();
        return out;
    }

    private static List<Command.CancelOrder> reclaims(List<Command> out) {
        return all(out, Command.CancelOrder.class).stream().filter(c -> c.order().getReclaim()).toList();
    }

    private static Command.Assign assignOf(List<Command> out, String name) {
        return only(out, Command.Assign.class, a -> a.assign().getName().equals(name));
    }

    /** Workers a and b (1 slot, prefetch 1 each) and tasks t0..t3: a holds t0 and t2, b holds t1 and t3. */
    private Map<String, Command.Assign> twoWorkersFourTasks() {
        sim.client(C);
        sim.worker(A, "a", 1, 1);
        sim.worker(B, "b", 1, 1);
        List<Command> out = new ArrayList<>();
        for (long i = 0; i < 4; i++) {
            out.addAll(submit(i));
        }
        Map<String, Command.Assign> byName = new HashMap<>();
        for (Command.Assign a : all(out, Command.Assign.class)) {
            byName.put(a.assign().getName(), a);
        }
        assertEquals(A, byName.get("t0").stream());
        assertEquals(A, byName.get("t2").stream());
        assertEquals(B, byName.get("t1").stream());
        assertEquals(B, byName.get("t3").stream());
        return byName;
    }

    @Test
    void aTaskPrefetchedBehindABlockedOneGoesToTheIdleWorker() {
        Map<String, Command.Assign> t = twoWorkersFourTasks();
        started(A, t.get("t0"));   // and blocks
        runs(B, t.get("t1"));
        assertEquals(List.of(), reclaims(runs(B, t.get("t3"))),
                "b is idle, but t0 has only just started: it may be about to end");
        assertEquals(List.of(), reclaims(tick(100)));

        Command.CancelOrder order = only(tick(100), Command.CancelOrder.class);
        assertEquals(A, order.stream());
        assertTrue(order.order().getReclaim() && !order.order().getInterrupt(), order.toString());
        assertEquals(t.get("t2").assign().getTaskKey(), order.order().getTaskKey());
        assertEquals(1, order.order().getAttempt());
        assertEquals(List.of(), reclaims(tick(1000)), "asked once: no second order while a has not answered");
        assertEquals(2, sim.s.runningCount(), "t2 keeps its place (and credit) on a until a answers");

        List<Command> back = ended(A, t.get("t2"), TaskStatus.RETURNED);
        Command.Assign moved = only(back, Command.Assign.class);
        assertEquals(B, moved.stream());
        assertEquals(2, moved.assign().getAttempt());
        assertEquals(List.of(), all(back, Command.SendResult.class), "handed back: no result yet");

        runs(B, moved);
        runs(A, t.get("t0"));
        assertEquals(Map.of(0L, 1, 1L, 1, 2L, 1, 3L, 1), results, "every task answered once");
        assertEquals(0, sim.s.runningCount() + sim.s.queuedCount());
    }

    @Test
    void theWorkerStartedItBeforeTheOrderCameSoItRunsThereOnceAndItsResultCounts() {
        Map<String, Command.Assign> t = twoWorkersFourTasks();
        started(A, t.get("t0"));
        runs(B, t.get("t1"));
        runs(B, t.get("t3"));
        tick(100);
        only(tick(100), Command.CancelOrder.class);   // t2 asked back
        // Meanwhile t0 ended on a and a started t2; the worker ignores the order that comes after.
        List<Command> out = new ArrayList<>(ended(A, t.get("t0"), TaskStatus.SUCCEEDED));
        out.addAll(started(A, t.get("t2")));
        out.addAll(tick(1000));
        assertEquals(List.of(), all(out, Command.Assign.class), "t2 is not sent anywhere else");
        assertEquals(List.of(), reclaims(out), "a running task is not asked back");
        assertEquals(Command.SendResult.class, only(ended(A, t.get("t2"), TaskStatus.SUCCEEDED),
                Command.SendResult.class).getClass());
        assertEquals(Map.of(0L, 1, 1L, 1, 2L, 1, 3L, 1), results);
    }

    @Test
    void aResultWithoutAStartedReportAnswersTheReclaimToo() {
        Map<String, Command.Assign> t = twoWorkersFourTasks();
        started(A, t.get("t0"));
        runs(B, t.get("t1"));
        runs(B, t.get("t3"));
        tick(100);
        only(tick(100), Command.CancelOrder.class);
        ended(A, t.get("t0"), TaskStatus.SUCCEEDED);
        List<Command> out = ended(A, t.get("t2"), TaskStatus.SUCCEEDED);   // ran and ended before the order came
        assertEquals(2L, only(out, Command.SendResult.class).result().getTaskId());
        assertEquals(List.of(), all(out, Command.Assign.class));
        assertEquals(Map.of(0L, 1, 1L, 1, 2L, 1, 3L, 1), results);
    }

    @Test
    void aTaskKnownToRunLongLetsWhatWaitsBehindItMoveAtOnce() {
        sim.client(C);
        FunctionDef f = Sim.function("slow");
        on(new Event.FunctionsDefined(C, List.of(f)));
        TaskSpec spec = TaskSpec.newBuilder().setFunctionDigest(f.getDigest()).build();
        sim.worker(A, "a", 1, 1);
        sim.worker(B, "b", 1, 1);
        Command.Assign first = only(on(new Event.TaskSubmitted(C, 100, spec, named("first"))), Command.Assign.class);
        started(first.stream(), first);
        ended(first.stream(), first, TaskStatus.SUCCEEDED, 50 * MILLISECOND);   // estimate: 50 ms

        List<Command> out = new ArrayList<>();
        for (long i = 0; i < 4; i++) {
            out.addAll(on(new Event.TaskSubmitted(C, i, spec, named("t" + i))));
        }
        Command.Assign t0 = assignOf(out, "t0");
        Command.Assign t2 = assignOf(out, "t2");
        assertEquals(t0.stream(), t2.stream());
        long other = t0.stream() == A ? B : A;
        started(t0.stream(), t0);
        runs(other, assignOf(out, "t1"));
        List<Command> idle = runs(other, assignOf(out, "t3"));
        Command.CancelOrder order = only(idle, Command.CancelOrder.class);
        assertEquals(t2.assign().getTaskKey(), order.order().getTaskKey(),
                "t0 is expected to run 50 ms: t2 moves to the idle worker without waiting for the clock");
        assertEquals(other, only(ended(t0.stream(), t2, TaskStatus.RETURNED), Command.Assign.class).stream());
    }

    @Test
    void atMostTheIdleSlotsAreAskedForAndTheLastQueuedGoFirst() {
        sim.client(C);
        sim.worker(A, "a", 1, 3);
        List<Command> out = new ArrayList<>();
        for (long i = 0; i < 4; i++) {
            out.addAll(submit(i));
        }
        assertEquals(4, all(out, Command.Assign.class).size(), "a holds t0 and, prefetched, t1..t3");
        started(A, assignOf(out, "t0"));
        sim.worker(B, "b", 2, 0);
        tick(100);
        List<Command.CancelOrder> orders = reclaims(tick(100));
        assertEquals(List.of(assignOf(out, "t3").assign().getTaskKey(), assignOf(out, "t2").assign().getTaskKey()),
                orders.stream().map(o -> o.order().getTaskKey()).toList(), "b has 2 free slots: the last two queued on a");

        Command.Assign t3 = only(ended(A, assignOf(out, "t3"), TaskStatus.RETURNED), Command.Assign.class);
        assertEquals(B, t3.stream());
        assertEquals(List.of(), reclaims(tick(1000)), "b's other slot waits for t2's answer");
        Command.Assign t2 = only(ended(A, assignOf(out, "t2"), TaskStatus.RETURNED), Command.Assign.class);
        assertEquals(B, t2.stream());
        assertEquals(List.of(), reclaims(tick(1000)), "b is full: t1 stays queued on a");

        started(B, t3);
        Command.CancelOrder last = only(ended(B, t3, TaskStatus.SUCCEEDED), Command.CancelOrder.class);
        assertEquals(assignOf(out, "t1").assign().getTaskKey(), last.order().getTaskKey());
    }

    @Test
    void aTaskTheIdleWorkerCouldNotRunStaysWhereItIs() {
        sim.client(C);
        sim.worker(A, "a", 1, 1, Map.of(), Set.of("gpu"));
        TaskPolicy gpu = TaskPolicy.newBuilder().addLabels("gpu").build();
        List<Command> out = new ArrayList<>();
        for (long i = 0; i < 2; i++) {
            out.addAll(on(new Event.TaskSubmitted(C, i, Sim.BODY, gpu)));
        }
        started(A, all(out, Command.Assign.class).get(0));
        sim.worker(B, "b", 1, 1);
        for (int i = 0; i < 10; i++) {
            assertEquals(List.of(), reclaims(tick(1000)), "b lacks the label");
        }
    }

    @Test
    void aUserCancelWhileAskedBackEndsItCancelledOnce() {
        Map<String, Command.Assign> t = twoWorkersFourTasks();
        started(A, t.get("t0"));
        runs(B, t.get("t1"));
        runs(B, t.get("t3"));
        tick(100);
        only(tick(100), Command.CancelOrder.class);
        on(new Event.CancelRequested(C, 2, false));
        List<Command> out = ended(A, t.get("t2"), TaskStatus.RETURNED);
        assertEquals(TaskStatus.CANCELLED, only(out, Command.SendResult.class).result().getStatus());
        assertEquals(List.of(), all(out, Command.Assign.class));
        assertEquals(1, results.get(2L));
    }

    @Test
    void aWorkerThatTakesTheOrderForAPlainCancelStillHandsTheTaskOn() {
        Map<String, Command.Assign> t = twoWorkersFourTasks();
        started(A, t.get("t0"));
        runs(B, t.get("t1"));
        runs(B, t.get("t3"));
        tick(100);
        only(tick(100), Command.CancelOrder.class);
        List<Command> out = ended(A, t.get("t2"), TaskStatus.CANCELLED);   // a worker that knows no reclaims
        assertEquals(List.of(), all(out, Command.SendResult.class), "the user asked for no cancel");
        assertEquals(B, only(out, Command.Assign.class).stream());
    }

    @Test
    void losingTheHolderWhileAskedBackQueuesItOnce() {
        Map<String, Command.Assign> t = twoWorkersFourTasks();
        started(A, t.get("t0"));
        runs(B, t.get("t1"));
        runs(B, t.get("t3"));
        tick(100);
        only(tick(100), Command.CancelOrder.class);
        List<Command> out = on(new Event.WorkerLost(A, "crash"));
        List<String> names = all(out, Command.Assign.class).stream().map(a -> a.assign().getName()).toList();
        assertTrue(names.contains("t0") || names.contains("t2"), names.toString());
        assertEquals(2, sim.s.runningCount() + sim.s.queuedCount(), "t0 and t2, each once");
    }

    /**
     * W1's shape: many short tasks of one function, adaptive prefetch keeping deep queues on
     * two busy workers, one faster than the other, the clock moving as they go. No reclaim,
     * also at the tail when the faster worker has emptied its queue and the slower has not.
     */
    @Test
    void deepQueuesOfShortTasksOnBusyWorkersAreNeverAskedBack() {
        sim.client(C);
        FunctionDef f = Sim.function("quick");
        on(new Event.FunctionsDefined(C, List.of(f)));
        TaskSpec spec = TaskSpec.newBuilder().setFunctionDigest(f.getDigest()).setArgument(ByteString.copyFromUtf8("x")).build();
        Map<Long, ArrayDeque<Command.Assign>> held = Map.of(A, new ArrayDeque<>(), B, new ArrayDeque<>());
        List<Command> out = new ArrayList<>();
        out.addAll(on(new Event.WorkerAttached(A, "a", "host", 1, 1, 1, Map.of(), Set.of(), false, 200)));
        out.addAll(on(new Event.WorkerAttached(B, "b", "host", 2, 1, 1, Map.of(), Set.of(), false, 200)));
        int tasks = 1200;
        validateEach = false;
        for (long i = 0; i < tasks; i++) {
            out.addAll(on(new Event.TaskSubmitted(C, i, spec, TaskPolicy.getDefaultInstance())));
        }
        int deepest = 0;
        int reclaimsSeen = 0;
        for (int round = 0; results.size() < tasks; round++) {
            for (Command.Assign a : all(out, Command.Assign.class)) {
                held.get(a.stream()).add(a);
            }
            reclaimsSeen += reclaims(out).size();
            deepest = Math.max(deepest, held.get(B).size());
            out = new ArrayList<>();
            // a does three tasks for each of b's; each worker starts its next as one ends
            for (int k = 0; k < 3 && !held.get(A).isEmpty(); k++) {
                out.addAll(finishHead(A, held.get(A)));
            }
            if (!held.get(B).isEmpty()) {
                out.addAll(finishHead(B, held.get(B)));
            }
            if (round % 50 == 49) {
                out.addAll(tick(100));   // 200 tasks a tick: W1's rate is ~26,000 a second
            }
        }
        reclaimsSeen += reclaims(out).size();
        sim.s.validate();
        assertTrue(deepest > 20, "b held a deep queue: " + deepest);
        assertEquals(0, reclaimsSeen, "no short task was asked back");
        assertTrue(results.values().stream().allMatch(n -> n == 1));
    }

    private List<Command> finishHead(long worker, ArrayDeque<Command.Assign> queue) {
        Command.Assign a = queue.poll();
        List<Command> out = new ArrayList<>(started(worker, a));
        out.addAll(ended(worker, a, TaskStatus.SUCCEEDED, 5 * MICROSECOND));
        if (!queue.isEmpty()) {
            out.addAll(started(worker, queue.peek()));
        }
        assertFalse(out.stream().anyMatch(c -> c instanceof Command.CloseStream), out.toString());
        return out;
    }
}
