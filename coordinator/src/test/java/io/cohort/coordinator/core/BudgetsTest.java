package io.cohort.coordinator.core;

import static io.cohort.coordinator.core.Sim.all;
import static io.cohort.coordinator.core.Sim.only;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The coordinator's budgets: what one client, or all, may make it hold. */
class BudgetsTest {
    private static final long GRACE_MS = 60_000;
    private static final long C1 = 1;
    private static final long C2 = 2;
    private static final long C3 = 3;
    private static final long W1 = 101;
    private static final int KIB = 1024;

    private static Sim sim(long perClient, long total, long held, int sessions) {
        return new Sim(new Scheduler(Sim.HEARTBEAT_MS, Sim.PLACEMENT_MS, GRACE_MS, false,
                new Budgets(1_000, perClient, total, held, sessions), new java.util.concurrent.atomic.AtomicLong()::incrementAndGet));
    }

    /** A task whose encoded spec is about {@code bytes} long. */
    private static Event.TaskSubmitted task(long stream, long id, int bytes) {
        TaskSpec spec = Sim.BODY.toBuilder().setArgument(ByteString.copyFrom(new byte[bytes])).build();
        return new Event.TaskSubmitted(stream, id, spec, TaskPolicy.getDefaultInstance());
    }

    private static TaskResult rejection(List<Command> out) {
        TaskResult r = only(out, Command.SendResult.class).result();
        assertEquals(TaskStatus.REJECTED, r.getStatus());
        assertEquals("java.util.concurrent.RejectedExecutionException", r.getError().getClassName(),
                "a budget's refusal reaches the client as a full executor's");
        return r;
    }

    @Test
    void aClientPastItsBytesIsRefusedNamingTheFlagAndGetsRoomBackAsTasksEnd() {
        Sim sim = sim(100 * KIB, 1 << 30, 1 << 30, 100);
        sim.client(C1);
        assertEquals(100L * KIB, only(sim.client(C2), Command.WelcomeClient.class).maxTaskBytes(),
                "clients learn their budget when they connect");
        assertTrue(all(sim.on(task(C1, 1, 60 * KIB)), Command.SendResult.class).isEmpty());
        TaskResult refused = rejection(sim.on(task(C1, 2, 60 * KIB)));
        assertTrue(refused.getError().getMessage().contains("--max-task-bytes-per-client"), refused.getError().getMessage());
        assertTrue(all(sim.on(task(C2, 1, 60 * KIB)), Command.SendResult.class).isEmpty(), "another client has its own budget");

        for (Command.Assign a : all(sim.worker(W1, "w1", 2, 0), Command.Assign.class)) {
            sim.started(W1, a);
            sim.result(W1, a, TaskStatus.SUCCEEDED);
        }
        assertTrue(all(sim.on(task(C1, 3, 60 * KIB)), Command.SendResult.class).isEmpty(),
                "the ended task's bytes are free again");
    }

    @Test
    void allClientsTogetherStopAtTheCoordinatorsBudget() {
        Sim sim = sim(100 * KIB, 150 * KIB, 1 << 30, 100);
        sim.client(C1);
        sim.client(C2);
        assertTrue(all(sim.on(task(C1, 1, 90 * KIB)), Command.SendResult.class).isEmpty());
        TaskResult refused = rejection(sim.on(task(C2, 1, 90 * KIB)));
        assertTrue(refused.getError().getMessage().contains("--max-task-bytes"), refused.getError().getMessage());
        assertTrue(all(sim.on(task(C2, 2, 40 * KIB)), Command.SendResult.class).isEmpty(), "what still fits is taken");
    }

    @Test
    void atTheSessionLimitAnEmptySessionWaitingToBeResumedMakesRoomAndOtherwiseTheNewOneIsRefused() {
        Sim sim = sim(1 << 30, 1 << 30, 1 << 30, 2);
        sim.client(C1);
        sim.client(C2);
        sim.on(new Event.SessionLost(C1));   // empty and waiting to be resumed
        assertEquals(1, all(sim.client(C3), Command.WelcomeClient.class).size(), "the empty waiting session made room");

        sim.on(task(C2, 1, 10));   // both open sessions now hold something, or have a stream
        List<Command> out = sim.client(4);
        Command.CloseStream refused = only(out, Command.CloseStream.class);
        assertEquals(Command.CloseCode.RESOURCE_EXHAUSTED, refused.code());
        assertTrue(refused.message().contains("--max-sessions"), refused.message());
        assertTrue(all(out, Command.WelcomeClient.class).isEmpty());
    }

    @Test
    void aSessionNotTakingItsResultsStartsNoMoreTasksUntilItDoes() {
        Sim sim = sim(1 << 30, 1 << 30, 1_000, 100);
        sim.client(C1);
        for (long id = 1; id <= 4; id++) {
            sim.on(task(C1, id, 10));
        }
        Command.Assign first = all(sim.worker(W1, "w1", 1, 0), Command.Assign.class).get(0);
        sim.on(new Event.SessionBackedUp(C1, true));
        sim.started(W1, first);
        List<Command> out = sim.on(new Event.TaskEnded(W1, WorkerTaskResult.newBuilder()
                .setTaskKey(first.assign().getTaskKey()).setAttempt(first.assign().getAttempt())
                .setStatus(TaskStatus.SUCCEEDED).setValue(ByteString.copyFrom(new byte[2_000])).build()));
        assertTrue(all(out, Command.Assign.class).isEmpty(), "backed up: its next task waits though the worker is free");

        out = sim.on(new Event.SessionBackedUp(C1, false));
        assertEquals(1, all(out, Command.Assign.class).size(), "reading again: its tasks start again");
    }

    @Test
    void resultsHeldForAWaitingSessionPastItsBudgetHoldBackItsTasksUntilItIsResumed() {
        Sim sim = sim(1 << 30, 1 << 30, 1_000, 100);
        List<Command> welcome = sim.client(C1);
        String id = only(welcome, Command.WelcomeClient.class).sessionId();
        for (long t = 1; t <= 3; t++) {
            sim.on(task(C1, t, 10));
        }
        sim.on(new Event.SessionLost(C1));
        Command.Assign first = all(sim.worker(W1, "w1", 1, 0), Command.Assign.class).get(0);
        sim.started(W1, first);
        List<Command> out = sim.on(new Event.TaskEnded(W1, WorkerTaskResult.newBuilder()
                .setTaskKey(first.assign().getTaskKey()).setAttempt(first.assign().getAttempt())
                .setStatus(TaskStatus.SUCCEEDED).setValue(ByteString.copyFrom(new byte[2_000])).build()));
        assertTrue(all(out, Command.Assign.class).isEmpty(), "2,000 bytes held, past its 1,000: nothing more starts");

        out = sim.on(new Event.SessionOpened(C2, "test", id));
        assertEquals(1, all(out, Command.SendResult.class).size(), "the held result is delivered on resume");
        assertEquals(1, all(out, Command.Assign.class).size(), "and its tasks start again");
    }
}
