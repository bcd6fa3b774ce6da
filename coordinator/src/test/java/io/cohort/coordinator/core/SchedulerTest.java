package io.cohort.coordinator.core;

import static io.cohort.coordinator.core.Sim.all;
import static io.cohort.coordinator.core.Sim.assertNone;
import static io.cohort.coordinator.core.Sim.assignedNames;
import static io.cohort.coordinator.core.Sim.named;
import static io.cohort.coordinator.core.Sim.only;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.coordinator.core.Command.CloseCode;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerStatusState;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SchedulerTest {
    private static final long C1 = 1;
    private static final long C2 = 2;
    private static final long W1 = 101;
    private static final long W2 = 102;

    private final Sim sim = new Sim();

    @Test
    void taskRoundTrip() {
        Command.WelcomeClient welcome = only(sim.client(C1), Command.WelcomeClient.class);
        assertTrue(welcome.sessionId().startsWith("s-") && welcome.sessionId().length() > 20, welcome.sessionId());
        Command.WelcomeWorker ww = only(sim.worker(W1, "", 2, 1), Command.WelcomeWorker.class);
        assertEquals("w-1", ww.workerId());
        assertEquals(Sim.HEARTBEAT_MS, ww.heartbeatTimeoutMs());

        Command.Assign a = only(sim.submit(C1, 7, named("seven")), Command.Assign.class);
        assertEquals(W1, a.stream());
        assertEquals(1, a.assign().getAttempt());
        assertEquals("seven", a.assign().getName());
        assertEquals(Sim.BODY, a.assign().getSpec());
        assertEquals(1, sim.s.runningCount());

        Command.NotifyStarted st = only(sim.started(W1, a), Command.NotifyStarted.class);
        assertEquals(C1, st.stream());
        assertEquals(7, st.started().getTaskId());
        assertEquals("w-1", st.started().getWorkerId());
        assertNone(sim.started(W1, a));   // twice is harmless

        Command.SendResult r = only(sim.result(W1, a, TaskStatus.SUCCEEDED), Command.SendResult.class);
        assertEquals(C1, r.stream());
        assertEquals(7, r.result().getTaskId());
        assertEquals(TaskStatus.SUCCEEDED, r.result().getStatus());
        assertEquals(ByteString.copyFromUtf8("v"), r.result().getValue());
        assertEquals("w-1", r.result().getWorkerId());
        assertEquals(0, sim.s.runningCount());
        assertEquals(1, sim.s.completedCount());
        assertNone(sim.result(W1, a, TaskStatus.SUCCEEDED));   // a repeated result is ignored
        assertTrue(sim.s.story(a.assign().getTaskKey()).toString().contains("RUNNING -> SUCCEEDED"));
    }

    @Test
    void functionDefinitionGoesOncePerWorkerBeforeItsFirstAssign() {
        sim.client(C1);
        FunctionDef f = Sim.function("fn");
        sim.on(new Event.FunctionsDefined(C1, List.of(f)));
        TaskSpec spec = TaskSpec.newBuilder().setFunctionDigest(f.getDigest()).setArgument(ByteString.copyFromUtf8("x")).build();
        for (int i = 1; i <= 4; i++) {
            sim.on(new Event.TaskSubmitted(C1, i, spec, TaskPolicy.getDefaultInstance()));
        }
        List<Command> first = sim.worker(W1, "a", 1, 1);
        List<Command.Assign> toA = all(first, Command.Assign.class);
        assertEquals(2, toA.size());
        assertSame(f, toA.get(0).function());
        assertNull(toA.get(1).function());
        List<Command.Assign> toB = all(sim.worker(W2, "b", 1, 1), Command.Assign.class);
        assertSame(f, toB.get(0).function());
        assertNull(toB.get(1).function());
        sim.result(W1, toA.get(0), TaskStatus.SUCCEEDED);
        Command.Assign again = only(sim.on(new Event.TaskSubmitted(C1, 5, spec, TaskPolicy.getDefaultInstance())),
                Command.Assign.class);
        assertEquals(W1, again.stream());
        assertNull(again.function());
    }

    @Test
    void invalidSubmitsAreRejected() {
        sim.client(C1);
        sim.worker(W1, "", 4, 0);
        FunctionDef f = Sim.function("fn");
        String[] expected = {"neither a body nor a function digest", "both a body and a function digest",
                "is not defined in this session", "resource gpu must be a finite amount"};
        TaskSpec[] specs = {TaskSpec.getDefaultInstance(),
                TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("b")).setFunctionDigest(f.getDigest()).build(),
                TaskSpec.newBuilder().setFunctionDigest(f.getDigest()).build(), Sim.BODY};
        for (int i = 0; i < specs.length; i++) {
            TaskPolicy p = i == 3 ? TaskPolicy.newBuilder().putResources("gpu", -1).setName("neg").build()
                    : TaskPolicy.getDefaultInstance();
            TaskResult r = only(sim.on(new Event.TaskSubmitted(C1, i, specs[i], p)), Command.SendResult.class).result();
            assertEquals(TaskStatus.REJECTED, r.getStatus());
            assertEquals(Scheduler.COHORT_EXCEPTION_CLASS, r.getError().getClassName());
            assertTrue(r.getError().getMessage().contains(expected[i]), r.getError().getMessage());
            assertTrue(r.getError().getMessage().startsWith("task " + i), r.getError().getMessage());
            assertEquals(i == 2 ? f.getDigest() : ByteString.EMPTY, r.getUndefinedFunction(),
                    "only an unknown digest says which function to define again");
        }
        assertEquals(4, sim.s.completedCount());
    }

    @Test
    void functionWithWrongDigestClosesTheSession() {
        sim.client(C1);
        FunctionDef bad = Sim.function("fn").toBuilder().setBody(ByteString.copyFromUtf8("other")).build();
        Command.CloseStream c = only(sim.on(new Event.FunctionsDefined(C1, List.of(bad))), Command.CloseStream.class);
        assertEquals(CloseCode.INVALID_ARGUMENT, c.code());
    }

    @Test
    void duplicateTaskIdClosesOnlyThatSession() {
        sim.client(C1);
        sim.client(C2);
        sim.worker(W1, "", 1, 0);
        Command.Assign a = only(sim.submit(C1, 1), Command.Assign.class);
        sim.submit(C1, 2);
        sim.submit(C2, 1, named("c2"));
        List<Command> out = sim.submit(C1, 1);
        Command.CloseStream close = only(out, Command.CloseStream.class);
        assertEquals(C1, close.stream());
        assertEquals(CloseCode.INVALID_ARGUMENT, close.code());
        assertTrue(close.message().contains("duplicate task_id 1"));
        Command.CancelOrder cancel = only(out, Command.CancelOrder.class);
        assertTrue(cancel.order().getInterrupt());
        // The orphan's result is dropped; the freed slot goes to the other session.
        Command.Assign next = only(sim.result(W1, a, TaskStatus.CANCELLED), Command.Assign.class);
        assertEquals("c2", next.assign().getName());
        assertEquals(C2, only(sim.result(W1, next, TaskStatus.SUCCEEDED), Command.SendResult.class).stream());
        assertEquals(0, sim.s.queuedCount());
    }

    @Test
    void creditCapsUnfinishedTasksPerWorker() {
        sim.client(C1);
        for (int i = 1; i <= 5; i++) {
            sim.submit(C1, i, named("t" + i));
        }
        assertEquals(List.of("t1", "t2", "t3"), assignedNames(sim.worker(W1, "", 2, 1)));
        assertEquals(2, sim.s.queuedCount());
        assertEquals(3, sim.s.runningCount());
        assertNone(sim.submit(C1, 6, named("t6")));
    }

    @Test
    void resultsFreeCredit() {
        sim.client(C1);
        List<Command.Assign> assigned = all(sim.worker(W1, "", 1, 0), Command.Assign.class);
        assertTrue(assigned.isEmpty());
        Command.Assign a = only(sim.submit(C1, 1, named("a")), Command.Assign.class);
        assertNone(sim.submit(C1, 2, named("b")));
        sim.started(W1, a);
        List<Command> out = sim.result(W1, a, TaskStatus.FAILED);
        assertEquals(TaskStatus.FAILED, only(out, Command.SendResult.class).result().getStatus());
        assertEquals(List.of("b"), assignedNames(out));
    }

    @Test
    void higherPriorityFirstThenFifo() {
        sim.client(C1);
        sim.submit(C1, 1, named("low1"));
        sim.submit(C1, 2, TaskPolicy.newBuilder().setName("high1").setPriority(5).build());
        sim.submit(C1, 3, named("low2"));
        sim.submit(C1, 4, TaskPolicy.newBuilder().setName("high2").setPriority(5).build());
        sim.submit(C1, 5, TaskPolicy.newBuilder().setName("neg").setPriority(-1).build());
        assertEquals(List.of("high1", "high2", "low1", "low2", "neg"), assignedNames(sim.worker(W1, "", 5, 0)));
    }

    @Test
    void sessionsAtTheSamePriorityTakeTurns() {
        sim.client(C1);
        sim.client(C2);
        for (int i = 1; i <= 4; i++) {
            sim.submit(C1, i, named("a" + i));
        }
        for (int i = 1; i <= 2; i++) {
            sim.submit(C2, i, named("b" + i));
        }
        assertEquals(List.of("a1", "b1", "a2", "b2", "a3", "a4"), assignedNames(sim.worker(W1, "", 6, 0)));
    }

    @Test
    void labelsAndResourcesChooseTheWorkerWithoutBlockingOthers() {
        sim.client(C1);
        sim.worker(W1, "plain", 2, 0);
        TaskPolicy gpu = TaskPolicy.newBuilder().setName("gpu").putResources("gpu", 1).addLabels("zone=a").build();
        assertNone(sim.submit(C1, 1, gpu));
        assertEquals(List.of("plain"), assignedNames(sim.submit(C1, 2, named("plain"))));
        List<Command> out = sim.worker(W2, "gpu-box", 4, 0, Map.of("gpu", 1.0), Set.of("zone=a"));
        Command.Assign a = only(out, Command.Assign.class);
        assertEquals("gpu", a.assign().getName());
        assertEquals(W2, a.stream());
        // Its one gpu is held: the next gpu task waits though the worker has free slots.
        assertNone(sim.submit(C1, 3, gpu));
        assertEquals(List.of("gpu"), assignedNames(sim.result(W2, a, TaskStatus.SUCCEEDED)));
    }

    @Test
    void cpuDefaultsToSlots() {
        sim.client(C1);
        sim.worker(W1, "", 2, 4);
        TaskPolicy cpu2 = TaskPolicy.newBuilder().setName("cpu2").putResources("cpu", 2).build();
        assertEquals(List.of("cpu2"), assignedNames(sim.submit(C1, 1, cpu2)));
        assertNone(sim.submit(C1, 2, cpu2));
        assertEquals(List.of("plain"), assignedNames(sim.submit(C1, 3, named("plain"))));
    }

    @Test
    void leastLoadedWorkerWins() {
        sim.client(C1);
        sim.worker(W1, "a", 4, 0);
        sim.worker(W2, "b", 2, 0);
        StringBuilder order = new StringBuilder();
        for (int i = 1; i <= 6; i++) {
            order.append(only(sim.submit(C1, i), Command.Assign.class).workerId()).append(' ');
        }
        // Lowest unfinished/slots, then fewer unfinished, then id.
        assertEquals("a b a b a a ", order.toString());
    }

    @Test
    void unsatisfiableTaskIsRejectedAfterThePlacementTimeout() {
        sim.client(C1);
        TaskPolicy big = TaskPolicy.newBuilder().setName("big").putResources("gpu", 2).addLabels("fast").build();
        sim.submit(C1, 1, big);
        // No worker attached: it just waits.
        assertNone(sim.advance(Sim.PLACEMENT_MS * 3));
        sim.worker(W1, "small", 1, 0, Map.of("gpu", 1.0), Set.of("fast"));
        assertNone(sim.advance(1000));   // the clock starts here
        assertNone(sim.advance(Sim.PLACEMENT_MS - 1000));
        TaskResult r = only(sim.advance(1000), Command.SendResult.class).result();
        assertEquals(TaskStatus.REJECTED, r.getStatus());
        assertEquals(Scheduler.COHORT_EXCEPTION_CLASS, r.getError().getClassName());
        String m = r.getError().getMessage();
        assertTrue(m.contains("task 1 (big)") && m.contains("gpu=2.0") && m.contains("[fast]")
                && m.contains("small offers resources {cpu=1.0, gpu=1.0}"), m);
        assertEquals(0, sim.s.queuedCount());
        assertEquals(1, sim.s.completedCount());
    }

    @Test
    void fittingWorkerAttachingInTimeSavesTheTask() {
        sim.client(C1);
        sim.worker(W1, "small", 1, 0);
        sim.submit(C1, 1, TaskPolicy.newBuilder().addLabels("gpu").build());
        sim.advance(1);
        sim.advance(Sim.PLACEMENT_MS - 10);
        assertEquals(1, all(sim.worker(W2, "big", 1, 0, Map.of(), Set.of("gpu")), Command.Assign.class).size());
        assertNone(sim.advance(Sim.PLACEMENT_MS * 2));
    }

    @Test
    void placementClockRunsOnlyWhileAWorkerIsAttached() {
        sim.client(C1);
        sim.worker(W1, "small", 1, 0);
        sim.submit(C1, 1, TaskPolicy.newBuilder().addLabels("gpu").build());
        sim.advance(1);
        sim.advance(Sim.PLACEMENT_MS - 10);
        sim.on(new Event.WorkerLost(W1, "gone"));
        assertNone(sim.advance(Sim.PLACEMENT_MS * 5));
        sim.worker(W2, "small2", 1, 0);
        assertNone(sim.advance(1));   // counting again from PLACEMENT_MS - 10
        assertNone(sim.advance(5));
        assertEquals(TaskStatus.REJECTED, only(sim.advance(5), Command.SendResult.class).result().getStatus());
    }

    @Test
    void cancelInEachState() {
        sim.client(C1);
        sim.worker(W1, "", 1, 1);
        Command.Assign running = only(sim.submit(C1, 1), Command.Assign.class);
        sim.started(W1, running);
        Command.Assign assigned = only(sim.submit(C1, 2), Command.Assign.class);
        assertNone(sim.submit(C1, 3));

        TaskResult queued = only(sim.on(new Event.CancelRequested(C1, 3, false)), Command.SendResult.class).result();
        assertEquals(TaskStatus.CANCELLED, queued.getStatus());
        assertEquals(Scheduler.CANCELLATION_CLASS, queued.getError().getClassName());
        assertEquals(0, sim.s.queuedCount());

        Command.CancelOrder o1 = only(sim.on(new Event.CancelRequested(C1, 2, false)), Command.CancelOrder.class);
        assertEquals(W1, o1.stream());
        assertFalse(o1.order().getInterrupt());
        assertEquals(assigned.assign().getTaskKey(), o1.order().getTaskKey());
        Command.CancelOrder o2 = only(sim.on(new Event.CancelRequested(C1, 1, true)), Command.CancelOrder.class);
        assertTrue(o2.order().getInterrupt());
        assertEquals(1, o2.order().getAttempt());

        assertEquals(TaskStatus.CANCELLED,
                only(sim.result(W1, assigned, TaskStatus.CANCELLED), Command.SendResult.class).result().getStatus());
        assertEquals(TaskStatus.SUCCEEDED,   // it finished before the interrupt landed
                only(sim.result(W1, running, TaskStatus.SUCCEEDED), Command.SendResult.class).result().getStatus());
        assertNone(sim.on(new Event.CancelRequested(C1, 1, true)));   // finished: ignored
        assertNone(sim.on(new Event.CancelRequested(C1, 99, true)));  // unknown: ignored
    }

    @Test
    void cancelledTaskIsNotRunAgainWhenItsWorkerIsLost() {
        sim.client(C1);
        sim.worker(W1, "", 2, 0);
        Command.Assign a = only(sim.submit(C1, 1), Command.Assign.class);
        Command.Assign b = only(sim.submit(C1, 2), Command.Assign.class);
        sim.started(W1, b);
        sim.on(new Event.CancelRequested(C1, 1, false));
        sim.on(new Event.CancelRequested(C1, 2, true));
        List<Command> out = sim.on(new Event.WorkerLost(W1, "gone"));
        assertEquals(2, all(out, Command.SendResult.class).stream()
                .filter(r -> r.result().getStatus() == TaskStatus.CANCELLED).count());
        assertEquals(0, sim.s.queuedCount());
        assertEquals(2, sim.s.completedCount());
        assertTrue(sim.s.story(a.assign().getTaskKey()).toString().contains("ASSIGNED -> CANCELLED"));
    }

    @Test
    void closedSessionDropsQueuedAndInterruptsRunning() {
        sim.client(C1);
        sim.client(C2);
        sim.worker(W1, "", 1, 0);
        Command.Assign a = only(sim.submit(C1, 1), Command.Assign.class);
        sim.started(W1, a);
        sim.submit(C1, 2);
        sim.submit(C1, 3);
        List<Command> out = sim.on(new Event.SessionClosed(C1));
        Command.CancelOrder o = only(out, Command.CancelOrder.class);
        assertTrue(o.order().getInterrupt());
        assertTrue(all(out, Command.SendResult.class).isEmpty());
        assertEquals(0, sim.s.queuedCount());
        assertEquals(2, sim.s.completedCount());
        sim.submit(C2, 1, named("other"));
        List<Command> after = sim.result(W1, a, TaskStatus.CANCELLED);
        assertTrue(all(after, Command.SendResult.class).isEmpty());
        assertEquals(List.of("other"), assignedNames(after));
        assertNone(sim.on(new Event.SessionClosed(C1)));
    }

    @Test
    void lostWorkerRequeuesItsTasksAtTheFrontAndCountsOnlyStartedOnes() {
        sim.client(C1);
        sim.worker(W1, "a", 2, 0);
        Command.Assign started = only(sim.submit(C1, 1, named("started")), Command.Assign.class);
        Command.Assign unstarted = only(sim.submit(C1, 2, named("unstarted")), Command.Assign.class);
        sim.started(W1, started);
        sim.submit(C1, 3, named("later"));
        sim.on(new Event.WorkerLost(W1, "stream ended"));
        assertEquals(3, sim.s.queuedCount());
        // The task that was running is a suspect: it runs alone, and its worker takes nothing
        // else until it ends, so if it killed its worker it cannot take the others down too.
        List<Command.Assign> again = all(sim.worker(W2, "b", 3, 0), Command.Assign.class);
        assertEquals(List.of("started"), again.stream().map(x -> x.assign().getName()).toList());
        assertEquals(2, again.get(0).assign().getAttempt());
        assertEquals(started.assign().getTaskKey(), again.get(0).assign().getTaskKey());
        sim.started(W2, again.get(0));
        List<Command.Assign> rest = all(sim.result(W2, again.get(0), TaskStatus.SUCCEEDED), Command.Assign.class);
        assertEquals(List.of("unstarted", "later"), rest.stream().map(x -> x.assign().getName()).toList());
        String story = sim.s.story(started.assign().getTaskKey()).toString();
        assertTrue(story.contains("RUNNING -> QUEUED (worker lost)"), story);
        StatusResponse status = sim.s.status();
        assertEquals(WorkerStatusState.ACTIVE, status.getWorkers(0).getState());
        assertEquals("a", status.getWorkers(1).getId());
        assertEquals(WorkerStatusState.LOST, status.getWorkers(1).getState());
    }

    @Test
    void aSuspectIsNotStarvedByAnotherSessionThatKeepsEveryWorkerBusy() {
        sim.client(C1);
        sim.client(C2);
        sim.worker(W1, "a", 1, 1);
        sim.worker(W2, "b", 1, 1);
        Command.Assign suspect = only(sim.submit(C1, 1, named("suspect")), Command.Assign.class);
        sim.started(suspect.stream(), suspect);
        long survivor = suspect.stream() == W1 ? W2 : W1;
        java.util.ArrayDeque<Command.Assign> onSurvivor = new java.util.ArrayDeque<>();
        for (int i = 0; i < 20; i++) {
            for (Command.Assign a : all(sim.submit(C2, 100 + i, named("flood")), Command.Assign.class)) {
                if (a.stream() == survivor) {
                    onSurvivor.add(a);
                }
            }
        }
        sim.on(new Event.WorkerLost(suspect.stream(), "stream ended"));
        // The survivor always has a task from the other session; without a reservation the
        // suspect would wait for all twenty of them.
        Integer placed = null;
        for (int done = 0; done < 5 && placed == null; done++) {
            Command.Assign next = onSurvivor.poll();
            for (Command.Assign a : all(sim.result(survivor, next, TaskStatus.SUCCEEDED), Command.Assign.class)) {
                if (a.assign().getName().equals("suspect")) {
                    placed = done + 1;
                    assertTrue(onSurvivor.isEmpty(), "it runs alone");
                    assertTrue(all(sim.result(survivor, a, TaskStatus.SUCCEEDED), Command.Assign.class).size() > 0,
                            "and the worker takes the others' tasks again once it ends");
                } else {
                    onSurvivor.add(a);
                }
            }
        }
        // At most one more task reaches it (if the other session's turn came first), then it empties.
        assertTrue(placed != null && placed <= 3, "placed after " + placed + " results");
    }

    @Test
    void taskLostMoreThanMaxRetriesEndsWorkerLost() {
        sim.client(C1);
        sim.submit(C1, 1, TaskPolicy.newBuilder().setName("crasher").setMaxRetries(1).build());
        sim.submit(C1, 2, named("defaults"));
        long stream = 200;
        Command.Assign a = only(sim.worker(stream, "w1", 1, 0), Command.Assign.class);
        sim.started(stream, a);
        sim.on(new Event.WorkerLost(stream, "crash"));
        a = only(sim.worker(++stream, "w2", 1, 0), Command.Assign.class);
        assertEquals(2, a.assign().getAttempt());
        sim.started(stream, a);
        List<Command> out = sim.on(new Event.WorkerLost(stream, "crash"));
        TaskResult r = only(out, Command.SendResult.class).result();
        assertEquals(TaskStatus.WORKER_LOST, r.getStatus());
        assertEquals(Scheduler.WORKER_LOST_CLASS, r.getError().getClassName());
        assertEquals("w2", r.getWorkerId());
        assertEquals("task 1 (crasher) was running on a worker that was lost 2 times (workers w1, w2); max_retries is 1",
                r.getError().getMessage());
        // Default max_retries is 3: the fourth loss ends it.
        for (int loss = 1; loss <= 4; loss++) {
            a = only(sim.worker(++stream, "x", 1, 0), Command.Assign.class);
            assertEquals("defaults", a.assign().getName());
            sim.started(stream, a);
            out = sim.on(new Event.WorkerLost(stream, "crash"));
            assertEquals(loss == 4, !all(out, Command.SendResult.class).isEmpty());
        }
    }

    @Test
    void zeroRetriesFailsOnTheFirstLossButNotWhenUnstarted() {
        sim.client(C1);
        sim.submit(C1, 1, TaskPolicy.newBuilder().setMaxRetries(0).build());
        only(sim.worker(W1, "", 1, 0), Command.Assign.class);
        assertNone(sim.on(new Event.WorkerLost(W1, "gone")));   // lost while only assigned: no count
        Command.Assign a = only(sim.worker(W2, "", 1, 0), Command.Assign.class);
        sim.started(W2, a);
        assertEquals(TaskStatus.WORKER_LOST, only(sim.on(new Event.WorkerLost(W2, "gone")), Command.SendResult.class)
                .result().getStatus());
    }

    @Test
    void staleAndMisroutedReportsAreIgnored() {
        sim.client(C1);
        sim.worker(W1, "a", 1, 0);
        Command.Assign first = only(sim.submit(C1, 1), Command.Assign.class);
        sim.on(new Event.WorkerLost(W1, "gone"));
        Command.Assign second = only(sim.worker(W2, "b", 1, 0), Command.Assign.class);
        assertEquals(2, second.assign().getAttempt());
        assertNone(sim.result(W2, first, TaskStatus.SUCCEEDED));   // attempt 1 is stale
        assertNone(sim.result(W1, second, TaskStatus.SUCCEEDED));  // a stream that is gone
        assertNone(sim.started(999, second));
        assertNone(sim.on(new Event.TaskEnded(W2, WorkerTaskResult.newBuilder().setTaskKey(12345).setAttempt(1).build())));
        assertEquals(TaskStatus.SUCCEEDED, only(sim.result(W2, second, TaskStatus.SUCCEEDED), Command.SendResult.class)
                .result().getStatus());
    }

    @Test
    void invalidStatusFromWorkerFailsTheTask() {
        sim.client(C1);
        sim.worker(W1, "a", 1, 0);
        Command.Assign a = only(sim.submit(C1, 1), Command.Assign.class);
        TaskResult r = only(sim.result(W1, a, TaskStatus.REJECTED), Command.SendResult.class).result();
        assertEquals(TaskStatus.FAILED, r.getStatus());
        assertTrue(r.getError().getMessage().contains("invalid status"));
    }

    @Test
    void drainingWorkerGetsNothingNewAndItsReturnedTasksRunElsewhere() {
        sim.client(C1);
        sim.worker(W1, "a", 1, 1);
        Command.Assign a1 = only(sim.submit(C1, 1), Command.Assign.class);
        Command.Assign a2 = only(sim.submit(C1, 2), Command.Assign.class);
        sim.started(W1, a1);
        assertNone(sim.on(new Event.WorkerDraining(W1)));
        assertEquals(WorkerStatusState.DRAINING, sim.s.status().getWorkers(0).getState());
        assertNone(sim.result(W1, a1, TaskStatus.SUCCEEDED).stream().filter(c -> c instanceof Command.Assign).toList());
        assertNone(sim.result(W1, a2, TaskStatus.RETURNED));
        assertEquals(1, sim.s.queuedCount());
        Command.Assign moved = only(sim.worker(W2, "b", 1, 0), Command.Assign.class);
        assertEquals(a2.assign().getTaskKey(), moved.assign().getTaskKey());
        assertEquals(2, moved.assign().getAttempt());
        // RETURNED repeatedly never counts a loss.
        for (int attempt = 3; attempt < 10; attempt++) {
            moved = only(sim.result(W2, moved, TaskStatus.RETURNED), Command.Assign.class);
            assertEquals(attempt, moved.assign().getAttempt());
        }
        assertEquals(TaskStatus.SUCCEEDED, only(sim.result(W2, moved, TaskStatus.SUCCEEDED), Command.SendResult.class)
                .result().getStatus());
    }

    @Test
    void adminDrainAnswersWhetherTheWorkerExists() {
        sim.client(C1);
        sim.worker(W1, "a", 1, 0);
        assertTrue(only(sim.on(new Event.AdminDrain(5, "a")), Command.DrainAnswer.class).found());
        assertFalse(only(sim.on(new Event.AdminDrain(6, "zz")), Command.DrainAnswer.class).found());
        assertNone(sim.submit(C1, 1));
        assertEquals(1, sim.s.queuedCount());
    }

    @Test
    void silentWorkerIsLostOnTick() {
        sim.client(C1);
        sim.worker(W1, "quiet", 1, 0);
        sim.worker(W2, "talker", 1, 0);
        Command.Assign a = only(sim.submit(C1, 1), Command.Assign.class);
        sim.tick(Sim.HEARTBEAT_MS - 1);
        sim.on(new Event.WorkerHeard(W2));
        assertEquals("quiet", a.workerId());
        List<Command> out = sim.tick(1);
        Command.CloseStream close = only(out, Command.CloseStream.class);
        assertEquals(W1, close.stream());
        assertEquals(CloseCode.UNAVAILABLE, close.code());
        assertTrue(close.message().contains("quiet"));
        // Its task moved to the live worker, unstarted so no loss counted.
        Command.Assign moved = only(out, Command.Assign.class);
        assertEquals("talker", moved.workerId());
        assertNone(sim.tick(Sim.HEARTBEAT_MS - 2));
    }

    @Test
    void workerIdsAreChosenOrChecked() {
        assertEquals("w-1", only(sim.worker(W1, "", 1, 0), Command.WelcomeWorker.class).workerId());
        assertEquals("mine", only(sim.worker(103, "mine", 1, 0), Command.WelcomeWorker.class).workerId());
        assertEquals("w-2", only(sim.worker(W2, "", 1, 0), Command.WelcomeWorker.class).workerId());
        Command.CloseStream refused = only(sim.worker(104, "w-1", 1, 0), Command.CloseStream.class);
        assertEquals(CloseCode.ALREADY_EXISTS, refused.code());
        assertEquals(104, refused.stream());
        sim.on(new Event.WorkerLost(W1, "gone"));
        assertEquals("w-1", only(sim.worker(105, "w-1", 1, 0), Command.WelcomeWorker.class).workerId());
        assertEquals(3, sim.s.status().getWorkersCount());   // the LOST entry is replaced
        Command.CloseStream bad = only(sim.worker(106, "", 0, 0), Command.CloseStream.class);
        assertEquals(CloseCode.INVALID_ARGUMENT, bad.code());
    }

    @Test
    void lostWorkersAreRememberedBounded() {
        for (int i = 0; i < 150; i++) {
            sim.worker(1000 + i, "", 1, 0);
            sim.on(new Event.WorkerLost(1000 + i, "gone"));
        }
        StatusResponse status = sim.s.status();
        assertEquals(100, status.getWorkersCount());
        assertEquals("w-150", status.getWorkers(0).getId());   // most recent first
    }

    @Test
    void statusCountsAndDescribesWorkers() {
        sim.client(C1);
        sim.worker(W1, "a", 2, 0, Map.of("gpu", 1.0), Set.of("zone=a"));
        Command.Assign a = only(sim.submit(C1, 1), Command.Assign.class);
        sim.submit(C1, 2);
        sim.submit(C1, 3);
        sim.started(W1, a);
        StatusResponse s = sim.s.status();
        assertEquals(1, s.getQueuedTasks());
        assertEquals(2, s.getRunningTasks());
        assertEquals(0, s.getCompletedTasks());
        assertEquals(1, s.getWorkers(0).getBusySlots());
        assertEquals(Map.of("gpu", 1.0, "cpu", 2.0), s.getWorkers(0).getResourcesMap());
        assertEquals(List.of("zone=a"), s.getWorkers(0).getLabelsList());
        assertEquals("host", s.getWorkers(0).getHost());
    }

    @Test
    void protocolViolationClosesTheStream() {
        sim.client(C1);
        sim.worker(W1, "a", 1, 0);
        assertEquals(CloseCode.INVALID_ARGUMENT,
                only(sim.on(new Event.ProtocolViolation(C1, "hello sent twice")), Command.CloseStream.class).code());
        assertEquals(W1, only(sim.on(new Event.ProtocolViolation(W1, "bad")), Command.CloseStream.class).stream());
        assertEquals(0, sim.s.status().getWorkers(0).getBusySlots());
        assertNone(sim.submit(C1, 1));   // the session is gone
    }

    // ---- process tasks and child JVMs

    private static final TaskSpec PROCESS = Sim.BODY.toBuilder()
            .setProcess(io.cohort.proto.v1.ProcessSpec.newBuilder().setName("Process-1")).build();

    private List<Command> submitProcess(long taskId, TaskPolicy policy) {
        return sim.on(new Event.TaskSubmitted(C1, taskId, PROCESS, policy));
    }

    @Test
    void processTasksHoldNoCredit() {
        sim.client(C1);
        sim.worker(W1, "w1", 1, 0);
        Command.Assign slotTask = only(sim.submit(C1, 1, named("t1")), Command.Assign.class);
        Command.Assign process = only(submitProcess(2, TaskPolicy.newBuilder().setMaxRetries(0).build()),
                Command.Assign.class);
        assertEquals("w1", process.workerId());
        assertNone(sim.submit(C1, 3, named("t2")));   // the slot is still the only credit
        sim.started(W1, process);
        assertEquals(List.of("t2"), assignedNames(sim.result(W1, slotTask, TaskStatus.SUCCEEDED)));
        assertEquals(2, sim.s.runningCount());   // t2 and the process
    }

    @Test
    void processOutputGoesToItsSessionAndSignalsReachTheWorker() {
        sim.client(C1);
        sim.worker(W1, "w1", 1, 0);
        Command.Assign a = only(submitProcess(7, TaskPolicy.newBuilder().setMaxRetries(0).build()), Command.Assign.class);
        sim.started(W1, a);
        io.cohort.proto.v1.ProcessOutput output = io.cohort.proto.v1.ProcessOutput.newBuilder().setPid(1234).build();
        Command.ForwardOutput forwarded = only(sim.on(new Event.ProcessOutputReported(W1,
                io.cohort.proto.v1.WorkerProcessOutput.newBuilder().setTaskKey(a.assign().getTaskKey())
                        .setAttempt(a.assign().getAttempt()).setOutput(output).build())), Command.ForwardOutput.class);
        assertEquals(C1, forwarded.stream());
        assertEquals(7, forwarded.output().getTaskId());
        assertEquals(1234, forwarded.output().getOutput().getPid());
        assertNone(sim.on(new Event.ProcessOutputReported(W1,   // a stale attempt
                io.cohort.proto.v1.WorkerProcessOutput.newBuilder().setTaskKey(a.assign().getTaskKey())
                        .setAttempt(a.assign().getAttempt() + 1).setOutput(output).build())));
        Command.CancelOrder kill = only(sim.on(new Event.CancelRequested(C1, 7, false, 9)), Command.CancelOrder.class);
        assertEquals(9, kill.order().getSignal());
        assertTrue(kill.order().getInterrupt());
        // The worker answers with the exit code: the task succeeded, it is not a cancelled task.
        assertEquals(TaskStatus.SUCCEEDED, only(sim.result(W1, a, TaskStatus.SUCCEEDED), Command.SendResult.class)
                .result().getStatus());
    }

    @Test
    void aProcessWaitsForAWorkerWithItsLabelsNotForCredit() {
        sim.client(C1);
        assertNone(submitProcess(1, TaskPolicy.newBuilder().addLabels("gpu").setMaxRetries(0).build()));
        assertEquals(1, sim.s.queuedCount());
        sim.worker(W1, "plain", 1, 0);
        sim.submit(C1, 2, named("fills the slot"));
        assertEquals(1, sim.s.queuedCount());
        Command.Assign a = only(sim.worker(W2, "gpu-box", 1, 0, Map.of(), Set.of("gpu")), Command.Assign.class);
        assertEquals("gpu-box", a.workerId());
        assertEquals(0, sim.s.queuedCount());
        sim.on(new Event.CancelRequested(C1, 1, true, 15));   // running: the order goes to the worker
        sim.on(new Event.WorkerLost(W2, "gone"));             // then the host dies: cancelled, not retried
        assertEquals(0, sim.s.queuedCount());
    }

    @Test
    void workerReportedLostIsOneLostAttempt() {
        sim.client(C1);
        sim.worker(W1, "w1", 1, 0);
        Command.Assign a = only(sim.submit(C1, 1, TaskPolicy.newBuilder().setName("halter").setMaxRetries(1).build()),
                Command.Assign.class);
        sim.started(W1, a);
        String died = "the child JVM (pid 9) running task 1/1 on worker w1 died with exit code 137";
        List<Command> out = sim.on(new Event.TaskEnded(W1, WorkerTaskResult.newBuilder()
                .setTaskKey(a.assign().getTaskKey()).setAttempt(1).setStatus(TaskStatus.WORKER_LOST)
                .setError(io.cohort.common.TaskErrors.plain(Scheduler.WORKER_LOST_CLASS, died, "w1")).build()));
        Command.Assign again = only(out, Command.Assign.class);
        assertEquals(2, again.assign().getAttempt());
        assertTrue(all(out, Command.SendResult.class).isEmpty());
        sim.started(W1, again);
        out = sim.on(new Event.TaskEnded(W1, WorkerTaskResult.newBuilder()
                .setTaskKey(a.assign().getTaskKey()).setAttempt(2).setStatus(TaskStatus.WORKER_LOST)
                .setError(io.cohort.common.TaskErrors.plain(Scheduler.WORKER_LOST_CLASS, died, "w1")).build()));
        TaskResult r = only(out, Command.SendResult.class).result();
        assertEquals(TaskStatus.WORKER_LOST, r.getStatus());
        assertEquals(Scheduler.WORKER_LOST_CLASS, r.getError().getClassName());
        assertTrue(r.getError().getMessage().contains("died with exit code 137"), r.getError().getMessage());
        assertTrue(r.getError().getMessage().contains("max_retries is 1"), r.getError().getMessage());
        assertEquals(1, sim.s.status().getWorkersCount(), "the worker itself stays attached");
    }

    @Test
    void anUnplaceableProcessIsRejectedAfterThePlacementTimeout() {
        sim.client(C1);
        assertNone(submitProcess(1, TaskPolicy.newBuilder().setName("p").addLabels("gpu").setMaxRetries(0).build()));
        sim.worker(W1, "plain", 1, 0);
        assertNone(sim.advance(1000));   // the clock starts here
        assertNone(sim.advance(Sim.PLACEMENT_MS - 1000));
        TaskResult r = only(sim.advance(1000), Command.SendResult.class).result();
        assertEquals(TaskStatus.REJECTED, r.getStatus());
        assertTrue(r.getError().getMessage().contains("task 1 (p) asks for"), r.getError().getMessage());
        assertEquals(0, sim.s.queuedCount());
    }
}
