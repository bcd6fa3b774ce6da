package io.cohort.coordinator.core;

import static io.cohort.coordinator.core.Sim.all;
import static io.cohort.coordinator.core.Sim.only;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Function definitions end: a session keeps only so many that no live task uses (the rest go,
 * journal records too), a task naming a dropped one is refused saying which, and a worker is
 * told to forget what none of its tasks uses beyond its own cap.
 */
class FunctionLifetimeTest {
    private static final long C1 = 1;
    private static final long W1 = 101;

    private static List<Command> define(Sim sim, FunctionDef... defs) {
        return sim.on(new Event.FunctionsDefined(C1, List.of(defs)));
    }

    private static List<Command> submit(Sim sim, long taskId, FunctionDef f) {
        return sim.on(new Event.TaskSubmitted(C1, taskId, TaskSpec.newBuilder().setFunctionDigest(f.getDigest()).build(),
                TaskPolicy.getDefaultInstance()));
    }

    private static Set<ByteString> forgotten(List<Command> commands) {
        Set<ByteString> out = new HashSet<>();
        for (Command.JournalForgetFunction f : all(commands, Command.JournalForgetFunction.class)) {
            out.add(f.digest());
        }
        return out;
    }

    @Test
    void aSessionKeepsFewIdleDefinitionsNeverOneInUseAndRefusesADroppedOneByName() {
        Scheduler s = new Scheduler(Sim.HEARTBEAT_MS, Sim.PLACEMENT_MS, 0, true);
        s.limitIdleFunctions(3);
        Sim sim = new Sim(s);
        String session = only(sim.client(C1), Command.WelcomeClient.class).sessionId();
        FunctionDef[] f = new FunctionDef[7];
        for (int i = 0; i < f.length; i++) {
            f[i] = Sim.function("fn" + i);
        }
        define(sim, f[0]);
        submit(sim, 1, f[0]);   // queued (no worker): f0 is in use
        List<Command> out = define(sim, f[1], f[2], f[3], f[4], f[5]);
        assertEquals(Set.of(f[1].getDigest(), f[2].getDigest()), forgotten(out),
                "the longest idle beyond 3 go, with their journal records; f0, in use, stays");
        assertEquals(4, s.functionsOf(session));

        Command.SendResult refused = only(submit(sim, 2, f[1]), Command.SendResult.class);
        assertEquals(TaskStatus.REJECTED, refused.result().getStatus());
        assertEquals(f[1].getDigest(), refused.result().getUndefinedFunction(), "it says which one to define again");
        assertTrue(refused.result().getError().getMessage().contains("--max-idle-functions-per-client"),
                refused.result().getError().getMessage());

        // Defined again (with its task, as the client does), it is used and kept.
        out = define(sim, f[1]);
        assertEquals(Set.of(f[3].getDigest()), forgotten(out));
        assertTrue(all(submit(sim, 3, f[1]), Command.SendResult.class).isEmpty(), "accepted");

        // A worker runs both tasks: f0 and f1 turn idle (after f4 and f5), and the longest idle beyond 3 go.
        List<Command.Assign> assigns = all(sim.worker(W1, "", 1, 1), Command.Assign.class);
        assertEquals(2, assigns.size());
        Set<ByteString> dropped = new HashSet<>();
        for (Command.Assign a : assigns) {
            dropped.addAll(forgotten(sim.result(W1, a, TaskStatus.SUCCEEDED)));
        }
        assertEquals(Set.of(f[4].getDigest()), dropped);
        assertEquals(3, s.functionsOf(session));
    }

    @Test
    void recoveryKeepsEveryFunctionARecoveredTaskUsesAndDropsUnusedOnesBeyondTheCap() {
        Scheduler s = new Scheduler(Sim.HEARTBEAT_MS, Sim.PLACEMENT_MS, 60_000, true);
        s.limitIdleFunctions(3);
        List<FunctionDef> defs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            defs.add(Sim.function("journalled " + i));
        }
        List<Event.TaskSubmitted> tasks = List.of(
                new Event.TaskSubmitted(0, 1, TaskSpec.newBuilder().setFunctionDigest(defs.get(0).getDigest()).build(),
                        TaskPolicy.getDefaultInstance()),
                new Event.TaskSubmitted(0, 2, TaskSpec.newBuilder().setFunctionDigest(defs.get(1).getDigest()).build(),
                        TaskPolicy.getDefaultInstance()));
        s.recoverSession("s-journalled", "before", defs, tasks, List.of());
        assertEquals(2 + 3, s.functionsOf("s-journalled"));
        Sim sim = new Sim(s);
        List<Command> first = sim.tick(1);
        assertEquals(295, forgotten(first).size(), "their journal records go with the first batch");
        assertEquals(2, s.status().getQueuedTasks(), "both recovered tasks kept their functions");
        assertTrue(forgotten(first).stream().noneMatch(d -> d.equals(defs.get(0).getDigest()) || d.equals(defs.get(1).getDigest())));
    }

    @Test
    void aWorkerIsToldToForgetFunctionsNoneOfItsTasksUsesAndIsSentOneAgainWhenNeeded() {
        Sim sim = new Sim();
        sim.client(C1);
        String worker = only(sim.worker(W1, "w1", 1, 0), Command.WelcomeWorker.class).workerId();
        int n = Scheduler.IDLE_FUNCTIONS_PER_WORKER + 40;
        List<FunctionDef> defs = new ArrayList<>();
        Set<ByteString> toldToForget = new HashSet<>();
        Set<ByteString> held = new HashSet<>();   // what the worker holds, by what it was told
        for (int i = 0; i < n; i++) {
            FunctionDef f = Sim.function("worker fn " + i);
            defs.add(f);
            define(sim, f);
            Command.Assign a = only(submit(sim, i + 1, f), Command.Assign.class);
            held.removeAll(a.forgetFunctions());
            toldToForget.addAll(a.forgetFunctions());
            assertEquals(f, a.function(), "a new function comes with its assign");
            held.add(f.getDigest());
            sim.result(W1, a, TaskStatus.SUCCEEDED);
            assertTrue(s(sim).functionsOnWorker(worker) <= Scheduler.IDLE_FUNCTIONS_PER_WORKER + 1);
        }
        assertTrue(toldToForget.size() >= n - Scheduler.IDLE_FUNCTIONS_PER_WORKER - 1, "forgot " + toldToForget.size());
        assertTrue(held.size() <= Scheduler.IDLE_FUNCTIONS_PER_WORKER + 1, "holds " + held.size());

        // The first function was forgotten there: used again, it is sent again.
        FunctionDef first = defs.get(0);
        assertTrue(toldToForget.contains(first.getDigest()));
        Command.Assign again = only(submit(sim, n + 1, first), Command.Assign.class);
        assertNotNull(again.function());
        assertEquals(first, again.function());
        // And one it still holds is not.
        sim.result(W1, again, TaskStatus.SUCCEEDED);
        FunctionDef recent = defs.get(n - 1);
        assertNull(only(submit(sim, n + 2, recent), Command.Assign.class).function());
    }

    private static Scheduler s(Sim sim) {
        return sim.s;
    }
}
