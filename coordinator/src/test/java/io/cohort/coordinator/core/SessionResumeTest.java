package io.cohort.coordinator.core;

import static io.cohort.coordinator.core.Sim.all;
import static io.cohort.coordinator.core.Sim.only;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.coordinator.server.SchedulerLoop;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Sessions whose stream breaks wait to be resumed; what the scheduler asks the journal to hold. */
class SessionResumeTest {
    private static final long GRACE_MS = 60_000;
    private static final long C1 = 1;
    private static final long C2 = 2;
    private static final long C3 = 3;
    private static final long W1 = 101;

    private final Sim sim = new Sim(new Scheduler(Sim.HEARTBEAT_MS, Sim.PLACEMENT_MS, GRACE_MS, true));

    private String open(long stream) {
        List<Command> out = sim.client(stream);
        only(out, Command.JournalSession.class);
        return only(out, Command.WelcomeClient.class).sessionId();
    }

    @Test
    void sessionIdsComeFromTheGivenSourceAndNeverRepeat() {
        // The same bits give the same ids (a simulation replays); a repeat is drawn again.
        long[] bits = {7, 8, 7, 8, 9, 10};
        int[] next = {0};
        Sim seeded = new Sim(new Scheduler(Sim.HEARTBEAT_MS, Sim.PLACEMENT_MS, GRACE_MS, false, Budgets.NONE.withTasksPerClient(100),
                () -> bits[next[0]++]));
        String first = only(seeded.client(C1), Command.WelcomeClient.class).sessionId();
        String second = only(seeded.client(C2), Command.WelcomeClient.class).sessionId();
        assertEquals("s-78", first);
        assertEquals("s-9a", second, "s-78 was taken, so the next bits were drawn");
        assertEquals(6, next[0]);
    }

    @Test
    void aBrokenStreamKeepsTheTasksAndHoldsTheirResultsUntilTheSessionIsResumed() {
        String id = open(C1);
        sim.worker(W1, "", 2, 0);
        List<Command> first = sim.submit(C1, 1);
        assertEquals(1, all(first, Command.JournalTask.class).size());
        Command.Assign a1 = only(first, Command.Assign.class);
        Command.Assign a2 = only(sim.submit(C1, 2), Command.Assign.class);
        sim.started(W1, a1);
        sim.submit(C1, 3);   // queued: both slots are busy

        List<Command> lost = sim.on(new Event.SessionLost(C1));
        assertTrue(all(lost, Command.CancelOrder.class).isEmpty(), "its tasks carry on");
        assertTrue(all(lost, Command.SessionEnded.class).isEmpty());

        List<Command> done = sim.result(W1, a1, TaskStatus.SUCCEEDED);
        assertTrue(all(done, Command.SendResult.class).isEmpty(), "no stream to send it on");
        assertEquals(1, only(done, Command.JournalResult.class).result().getTaskId());
        Command.Assign a3 = only(done, Command.Assign.class);
        sim.advance(GRACE_MS / 2);

        List<Command> resumed = sim.on(new Event.SessionOpened(C2, "test", id));
        Command.WelcomeClient welcome = only(resumed, Command.WelcomeClient.class);
        assertEquals(id, welcome.sessionId());
        assertTrue(welcome.resumed());
        assertEquals(C2, only(resumed, Command.SendResult.class).stream());
        assertEquals(1, only(resumed, Command.JournalForget.class).taskId());
        assertEquals(1, only(resumed, Command.SendResult.class).result().getTaskId());

        // The client offers everything it has no answer for; only the new task is taken.
        for (long taskId = 1; taskId <= 3; taskId++) {
            List<Command> again = sim.submit(C2, taskId);
            assertTrue(all(again, Command.CloseStream.class).isEmpty() && all(again, Command.Assign.class).isEmpty(),
                    "task " + taskId + " sent again is ignored: " + again);
        }
        sim.result(W1, a2, TaskStatus.SUCCEEDED);
        List<Command> last = sim.result(W1, a3, TaskStatus.SUCCEEDED);
        assertEquals(C2, only(last, Command.SendResult.class).stream());
        assertEquals(3, sim.s.completedCount());
        assertEquals(0, sim.s.queuedCount() + sim.s.runningCount());
    }

    @Test
    void aSessionNotResumedWithinTheGraceEndsAndItsTasksAreCancelled() {
        String id = open(C1);
        sim.worker(W1, "", 1, 0);
        Command.Assign a = only(sim.submit(C1, 1), Command.Assign.class);
        sim.started(W1, a);
        sim.submit(C1, 2);
        sim.on(new Event.SessionLost(C1));
        List<Command> expired = sim.advance(GRACE_MS + SchedulerLoop.TICK_MS);
        assertEquals(id, only(expired, Command.SessionEnded.class).sessionId());
        assertTrue(only(expired, Command.CancelOrder.class).order().getInterrupt());
        assertEquals(0, sim.s.queuedCount());

        Command.WelcomeClient late = only(sim.on(new Event.SessionOpened(C2, "test", id)), Command.WelcomeClient.class);
        assertFalse(late.resumed());
        assertNotEquals(id, late.sessionId());
    }

    @Test
    void aSessionClosedByItsClientEndsAtOnce() {
        String id = open(C1);
        sim.submit(C1, 1);
        List<Command> closed = sim.on(new Event.SessionClosed(C1));
        assertEquals(id, only(closed, Command.SessionEnded.class).sessionId());
        assertFalse(only(sim.on(new Event.SessionOpened(C2, "test", id)), Command.WelcomeClient.class).resumed());
    }

    @Test
    void aResumeTakesOverAStreamNotYetNoticedAsBroken() {
        String id = open(C1);
        List<Command> out = sim.on(new Event.SessionOpened(C2, "test", id));
        Command.CloseStream old = only(out, Command.CloseStream.class);
        assertEquals(C1, old.stream());
        assertEquals(Command.CloseCode.ABORTED, old.code());
        assertTrue(only(out, Command.WelcomeClient.class).resumed());
        sim.worker(W1, "", 1, 0);
        Command.Assign a = only(sim.submit(C2, 5), Command.Assign.class);
        assertEquals(C2, only(sim.result(W1, a, TaskStatus.SUCCEEDED), Command.SendResult.class).stream());
    }

    @Test
    void submitsPastTheSessionsBoundAreRejectedAndNothingElseIsLost() {
        Sim bounded = new Sim(new Scheduler(Sim.HEARTBEAT_MS, Sim.PLACEMENT_MS, GRACE_MS, false, 2));
        assertEquals(2, only(bounded.client(C1), Command.WelcomeClient.class).maxTasks());
        bounded.client(C2);
        bounded.submit(C1, 1);
        bounded.submit(C1, 2);
        Command.SendResult refused = only(bounded.submit(C1, 3), Command.SendResult.class);
        assertEquals(TaskStatus.REJECTED, refused.result().getStatus());
        assertTrue(refused.result().getError().getMessage().contains("--max-tasks-per-client"),
                refused.result().getError().getMessage());
        bounded.submit(C2, 1);   // another client's bound is its own
        assertEquals(3, bounded.s.queuedCount());
        bounded.worker(W1, "", 1, 0);
        assertEquals(2, bounded.s.queuedCount());
    }

    @Test
    void aDuplicateTaskIdIsStillAMistakeInASessionNeverResumed() {
        open(C1);
        sim.submit(C1, 1);
        Command.CloseStream c = only(sim.submit(C1, 1), Command.CloseStream.class);
        assertTrue(c.message().contains("duplicate task_id 1"), c.message());
    }

    @Test
    void aSessionRecoveredFromTheJournalRunsItsTasksAndHandsOverItsHeldResults() {
        TaskResult held = TaskResult.newBuilder().setTaskId(4).setStatus(TaskStatus.SUCCEEDED)
                .setValue(ByteString.copyFromUtf8("four")).build();
        sim.s.recoverSession("s-recovered", "before", List.of(),
                List.of(new Event.TaskSubmitted(0, 5, Sim.BODY, TaskPolicy.getDefaultInstance()),
                        new Event.TaskSubmitted(0, 6, Sim.BODY, TaskPolicy.getDefaultInstance())),
                List.of(held));
        sim.s.validate();
        assertEquals(2, sim.s.queuedCount());
        List<Command> attached = sim.worker(W1, "", 2, 0);
        List<Command.Assign> assigns = all(attached, Command.Assign.class);
        assertEquals(2, assigns.size());
        List<Command> five = sim.result(W1, assigns.get(0), TaskStatus.SUCCEEDED);
        assertEquals(5, only(five, Command.JournalResult.class).result().getTaskId(), "held for the client");

        List<Command> resumed = sim.on(new Event.SessionOpened(C3, "after", "s-recovered"));
        assertTrue(only(resumed, Command.WelcomeClient.class).resumed());
        List<Command.SendResult> results = all(resumed, Command.SendResult.class);
        assertEquals(List.of(4L, 5L), results.stream().map(r -> r.result().getTaskId()).toList());
        assertEquals("four", results.get(0).result().getValue().toStringUtf8());
        List<Command> six = sim.result(W1, assigns.get(1), TaskStatus.SUCCEEDED);
        assertEquals(C3, only(six, Command.SendResult.class).stream());
        assertEquals(6, only(six, Command.JournalForget.class).taskId());
    }
}
