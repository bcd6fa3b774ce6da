package io.cohort.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.worker.WorkerState.ArmTimeout;
import io.cohort.worker.WorkerState.Assigned;
import io.cohort.worker.WorkerState.Began;
import io.cohort.worker.WorkerState.CancelOrdered;
import io.cohort.worker.WorkerState.CloseStream;
import io.cohort.worker.WorkerState.Command;
import io.cohort.worker.WorkerState.DrainRequested;
import io.cohort.worker.WorkerState.DrainTimedOut;
import io.cohort.worker.WorkerState.Event;
import io.cohort.worker.WorkerState.Finished;
import io.cohort.worker.WorkerState.FunctionsDefined;
import io.cohort.worker.WorkerState.Interrupt;
import io.cohort.worker.WorkerState.Phase;
import io.cohort.worker.WorkerState.SendDraining;
import io.cohort.worker.WorkerState.SendResult;
import io.cohort.worker.WorkerState.SendStarted;
import io.cohort.worker.WorkerState.StartTask;
import io.cohort.worker.WorkerState.StreamLost;
import io.cohort.worker.WorkerState.TimedOut;
import io.cohort.worker.WorkerState.Welcomed;
import java.util.List;
import org.junit.jupiter.api.Test;

class WorkerStateTest {
    private WorkerState state = new WorkerState(2, "");

    /** Every step is followed by the invariant check. */
    private List<Command> step(Event e) {
        List<Command> out = state.handle(e);
        state.validate();
        return out;
    }

    private static TaskAssign task(long key) {
        return task(key, 0);
    }

    private static TaskAssign task(long key, long timeoutMs) {
        return TaskAssign.newBuilder().setTaskKey(key).setAttempt(1).setTimeoutMs(timeoutMs).setName("t" + key)
                .setSpec(TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("body"))).build();
    }

    private static WorkerTaskResult ok(long key) {
        return WorkerTaskResult.newBuilder().setTaskKey(key).setAttempt(1).setStatus(TaskStatus.SUCCEEDED).build();
    }

    private static StartTask start(List<Command> cmds, int index) {
        return (StartTask) cmds.stream().filter(c -> c instanceof StartTask).toList().get(index);
    }

    private static List<WorkerTaskResult> results(List<Command> cmds) {
        return cmds.stream().filter(c -> c instanceof SendResult).map(c -> ((SendResult) c).result()).toList();
    }

    private List<Command> welcomeAndAssign(long... keys) {
        step(new Welcomed("w-1"));
        return step(new Assigned(java.util.Arrays.stream(keys).mapToObj(WorkerStateTest::task).toList()));
    }

    @Test
    void startsUpToSlotsAndQueuesTheRestThenRefillsTheFreedSlot() {
        List<Command> cmds = welcomeAndAssign(1, 2, 3);
        assertEquals(2, cmds.size());
        StartTask first = start(cmds, 0);
        assertEquals(1, first.assign().getTaskKey());
        assertEquals(Phase.RECEIVED, state.phase(3, 1));
        assertEquals(1, state.queuedCount());

        List<Command> began = step(new Began(first.slot(), first.runId()));
        assertEquals(1, began.size());
        assertEquals(1, ((SendStarted) began.get(0)).started().getTaskKey());

        List<Command> done = step(new Finished(first.slot(), first.runId(), ok(1)));
        assertEquals(List.of(ok(1)), results(done));
        StartTask next = start(done, 0);
        assertEquals(3, next.assign().getTaskKey());
        assertEquals(first.slot(), next.slot(), "the freed slot takes the next task");
        assertEquals(Phase.DONE, state.phase(1, 1));
        assertEquals(Phase.RUNNING, state.phase(3, 1));
    }

    @Test
    void timeoutIsArmedWhenTheTaskBeginsAndEndsItTimedOut() {
        step(new Welcomed("w-1"));
        StartTask s = start(step(new Assigned(List.of(task(1, 250)))), 0);
        List<Command> began = step(new Began(s.slot(), s.runId()));
        assertEquals(new ArmTimeout(s.slot(), s.runId(), 250), began.get(1));

        List<Command> fired = step(new TimedOut(s.slot(), s.runId()));
        assertEquals(new Interrupt(s.slot(), s.runId()), fired.get(0));
        WorkerTaskResult r = results(fired).get(0);
        assertEquals(TaskStatus.TIMED_OUT, r.getStatus());
        assertTrue(r.getError().getMessage().contains("250 ms"), r.getError().getMessage());
        assertTrue(r.getError().getMessage().contains("'t1'"), r.getError().getMessage());
        assertEquals("w-1", r.getError().getWorkerId());

        // the task swallowed the interrupt and returned: nothing more is reported
        assertEquals(List.of(), step(new Finished(s.slot(), s.runId(), ok(1))));
        assertEquals(List.of(), step(new TimedOut(s.slot(), s.runId())), "a stale timer is ignored");
        assertEquals(0, state.busySlots());
    }

    @Test
    void cancelOfAQueuedTaskDropsItAndReportsCancelled() {
        state = new WorkerState(1, "");
        List<Command> cmds = welcomeAndAssign(1, 2);
        StartTask s = start(cmds, 0);
        List<Command> cancelled = step(new CancelOrdered(TaskCancelOrder.newBuilder().setTaskKey(2).setAttempt(1).build()));
        assertEquals(TaskStatus.CANCELLED, results(cancelled).get(0).getStatus());
        List<Command> done = step(new Finished(s.slot(), s.runId(), ok(1)));
        assertEquals(1, done.size(), "the cancelled task never starts: " + done);
        assertEquals(List.of(), step(new CancelOrdered(TaskCancelOrder.newBuilder().setTaskKey(2).setAttempt(1).build())),
                "a second cancel of an ended task is ignored");
    }

    @Test
    void cancelWithInterruptStopsARunningTaskAndItsOutcomeIsIgnored() {
        state = new WorkerState(1, "");
        List<Command> cmds = welcomeAndAssign(1, 2);
        StartTask s = start(cmds, 0);
        step(new Began(s.slot(), s.runId()));
        List<Command> cancelled = step(new CancelOrdered(TaskCancelOrder.newBuilder()
                .setTaskKey(1).setAttempt(1).setInterrupt(true).build()));
        assertEquals(new Interrupt(s.slot(), s.runId()), cancelled.get(0));
        assertEquals(TaskStatus.CANCELLED, results(cancelled).get(0).getStatus());
        assertEquals(1, state.busySlots(), "the slot stays busy until its thread returns");
        assertEquals(1, state.queuedCount());

        List<Command> done = step(new Finished(s.slot(), s.runId(), ok(1)));
        assertEquals(List.of(), results(done));
        assertEquals(2, start(done, 0).assign().getTaskKey());
    }

    @Test
    void cancelWithoutInterruptLeavesARunningTaskAlone() {
        StartTask s = start(welcomeAndAssign(1), 0);
        step(new Began(s.slot(), s.runId()));
        assertEquals(List.of(), step(new CancelOrdered(TaskCancelOrder.newBuilder().setTaskKey(1).setAttempt(1).build())));
        assertEquals(List.of(ok(1)), results(step(new Finished(s.slot(), s.runId(), ok(1)))));
    }

    private static CancelOrdered reclaim(long key) {
        return new CancelOrdered(TaskCancelOrder.newBuilder().setTaskKey(key).setAttempt(1).setReclaim(true).build());
    }

    @Test
    void reclaimHandsBackATaskNoSlotHasTakenAndItNeverStartsHere() {
        state = new WorkerState(1, "");
        StartTask s = start(welcomeAndAssign(1, 2, 3), 0);
        step(new Began(s.slot(), s.runId()));
        List<Command> back = step(reclaim(3));
        assertEquals(List.of(TaskStatus.RETURNED), results(back).stream().map(WorkerTaskResult::getStatus).toList());
        assertEquals(3, results(back).get(0).getTaskKey());
        assertEquals(1, state.queuedCount(), "task 2 still waits for the slot");

        List<Command> done = step(new Finished(s.slot(), s.runId(), ok(1)));
        assertEquals(2, start(done, 0).assign().getTaskKey(), "the next queued task starts, not the returned one");
        assertEquals(0, state.queuedCount());
        assertEquals(List.of(), step(reclaim(3)), "a second reclaim of a returned task is ignored");
    }

    @Test
    void reclaimOfATaskThatStartedLeavesItRunningToItsResult() {
        state = new WorkerState(1, "");
        StartTask s = start(welcomeAndAssign(1), 0);
        assertEquals(List.of(), step(reclaim(1)), "started already (its thread may not have begun): no answer");
        step(new Began(s.slot(), s.runId()));
        assertEquals(List.of(ok(1)), results(step(new Finished(s.slot(), s.runId(), ok(1)))));
    }

    @Test
    void drainReturnsQueuedTasksAndClosesAfterTheLastRunningOne() {
        state = new WorkerState(1, "");
        StartTask s = start(welcomeAndAssign(1, 2, 3), 0);
        List<Command> drain = step(new DrainRequested());
        assertEquals(new SendDraining(), drain.get(0));
        assertEquals(List.of(TaskStatus.RETURNED, TaskStatus.RETURNED),
                results(drain).stream().map(WorkerTaskResult::getStatus).toList());

        List<Command> late = step(new Assigned(List.of(task(4))));
        assertEquals(TaskStatus.RETURNED, results(late).get(0).getStatus());

        List<Command> done = step(new Finished(s.slot(), s.runId(), ok(1)));
        assertEquals(List.of(ok(1)), results(done));
        assertEquals(new CloseStream(), done.get(done.size() - 1));
    }

    @Test
    void drainTimeoutCancelsWhatStillRuns() {
        StartTask s = start(welcomeAndAssign(1), 0);
        assertEquals(List.of(new SendDraining()), step(new DrainRequested()));
        List<Command> timedOut = step(new DrainTimedOut());
        assertEquals(new Interrupt(s.slot(), s.runId()), timedOut.get(0));
        assertEquals(TaskStatus.CANCELLED, results(timedOut).get(0).getStatus());
        assertEquals(new CloseStream(), timedOut.get(timedOut.size() - 1));
        assertEquals(List.of(), step(new Finished(s.slot(), s.runId(), ok(1))));
    }

    @Test
    void aLostStreamInterruptsAndForgetsEverythingButOrphansKeepTheirSlots() {
        state = new WorkerState(1, "");
        StartTask s = start(welcomeAndAssign(1, 2), 0);
        List<Command> lost = step(new StreamLost("UNAVAILABLE"));
        assertEquals(List.of(new Interrupt(s.slot(), s.runId())), lost);
        assertEquals(Phase.DONE, state.phase(2, 1));

        step(new Welcomed("w-1"));
        assertEquals(List.of(), step(new Assigned(List.of(task(7)))), "the only slot is still busy");
        List<Command> freed = step(new Finished(s.slot(), s.runId(), ok(1)));
        assertEquals(List.of(), results(freed), "results of a lost stream are not sent");
        assertEquals(7, start(freed, 0).assign().getTaskKey());
    }

    @Test
    void functionDigestsAreKnownPerStream() {
        step(new Welcomed("w-1"));
        ByteString digest = ByteString.copyFromUtf8("digest");
        TaskAssign byDigest = TaskAssign.newBuilder().setTaskKey(5).setAttempt(1)
                .setSpec(TaskSpec.newBuilder().setFunctionDigest(digest)).build();
        WorkerTaskResult refused = results(step(new Assigned(List.of(byDigest)))).get(0);
        assertEquals(TaskStatus.FAILED, refused.getStatus());
        assertTrue(refused.getError().getMessage().contains("function"), refused.getError().getMessage());

        step(new FunctionsDefined(List.of(digest)));
        TaskAssign again = byDigest.toBuilder().setAttempt(2).build();
        assertEquals(StartTask.class, step(new Assigned(List.of(again))).get(0).getClass());

        step(new StreamLost("gone"));
        step(new Welcomed("w-1"));
        TaskAssign third = byDigest.toBuilder().setAttempt(3).build();
        assertEquals(TaskStatus.FAILED, results(step(new Assigned(List.of(third)))).get(0).getStatus());
    }

    @Test
    void duplicateAssignsAreIgnored() {
        welcomeAndAssign(1);
        assertEquals(List.of(), step(new Assigned(List.of(task(1)))));
    }

    @Test
    void impossibleEventsThrowWithTheTaskStory() {
        StartTask s = start(welcomeAndAssign(1), 0);
        step(new Began(s.slot(), s.runId()));
        IllegalStateException twice = assertThrows(IllegalStateException.class,
                () -> state.handle(new Began(s.slot(), s.runId())));
        assertTrue(twice.getMessage().contains("story"), twice.getMessage());
        assertThrows(IllegalStateException.class, () -> state.handle(new Finished(s.slot(), s.runId() + 1, ok(1))));
        assertThrows(IllegalStateException.class, () -> state.handle(new Finished(s.slot(), s.runId(), ok(9))));
        assertTrue(state.story(1, 1).contains("RECEIVED -START-> RUNNING"), state.story(1, 1).toString());
    }

    @Test
    void transitionTableHasNoWayOutOfDone() {
        assertTrue(WorkerState.TRANSITIONS.get(Phase.DONE).isEmpty());
        assertEquals(Phase.RUNNING, WorkerState.TRANSITIONS.get(Phase.RECEIVED).get(WorkerState.Step.START));
    }

    @Test
    void assignsBeforeTheWelcomeAreIgnoredAndDrainWithoutStreamClosesAtOnce() {
        assertEquals(List.of(), step(new Assigned(List.of(task(1)))));
        assertEquals(List.of(new CloseStream()), step(new DrainRequested()));
    }
}
