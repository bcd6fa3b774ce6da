package io.cohort.coordinator.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.proto.v1.TaskPolicy;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** The session table on its own: ids from the injected source, the maps across detach and resume, budgets. */
class SessionTableTest {
    @Test
    void sessionIdsComeFromTheInjectedSourceAndNeverRepeat() {
        ArrayDeque<Long> bits = new ArrayDeque<>(List.of(1L, 2L, 1L, 2L, 3L, 4L));
        LongSupplier source = bits::pop;
        SessionTable table = new SessionTable(Budgets.NONE, source);
        ClientSession a = table.open(10, "a");
        ClientSession b = table.open(11, "b");
        assertEquals("s-12", a.id);   // base 36 of each draw, concatenated
        assertEquals("s-34", b.id, "a clash with an open session draws again");
        assertTrue(bits.isEmpty());
        assertEquals(List.of("s-12", "s-34"), List.of(table.byStream(10).id, table.byStream(11).id));
    }

    @Test
    void theSchedulerWelcomesClientsUnderIdsFromTheSourceItIsGiven() {
        ArrayDeque<Long> bits = new ArrayDeque<>(List.of(35L, 36L));
        Scheduler s = new Scheduler(Sim.HEARTBEAT_MS, Sim.PLACEMENT_MS, 0, false, Budgets.NONE, bits::pop);
        List<Command> out = s.handle(new Event.SessionOpened(1, "c"));
        assertEquals(new Command.WelcomeClient(1, "s-z10", false, Integer.MAX_VALUE, Long.MAX_VALUE), out.get(0));
        s.validate();
    }

    @Test
    void predictableIdsRepeatPerSeedAndLookLikeAServers() {
        String first = new SessionTable(Budgets.NONE, Scheduler.predictableIds(7)).open(1, "c").id;
        assertEquals(first, new SessionTable(Budgets.NONE, Scheduler.predictableIds(7)).open(1, "c").id);
        assertNotEquals(first, new SessionTable(Budgets.NONE, Scheduler.predictableIds(8)).open(1, "c").id);
        assertTrue(first.startsWith("s-") && first.length() > 20, first);
    }

    @Test
    void detachResumeAndCloseMoveASessionBetweenMaps() {
        SessionTable table = new SessionTable(Budgets.NONE, Scheduler.predictableIds(1));
        ClientSession s = table.open(5, "c");
        table.detach(s, 1_000);
        assertNull(table.byStream(5));
        assertSame(s, table.oldestDetached());
        assertEquals(1_000, s.detachedAt);
        table.validate();

        table.resume(s, 6);
        assertSame(s, table.byStream(6));
        assertNull(table.oldestDetached());
        assertTrue(s.resumed);
        table.validate();

        table.close(s);
        assertNull(table.byId(s.id));
        assertNull(table.byStream(6));
        assertTrue(s.closed);
        assertEquals(0, table.size());
        table.validate();
    }

    @Test
    void budgetsCountAdmittedTasksUntilRetired() {
        SessionTable table = new SessionTable(Budgets.NONE.withTasksPerClient(1), Scheduler.predictableIds(1));
        ClientSession s = table.open(5, "c");
        Task first = new Task(1, 1, s, Sim.BODY, TaskPolicy.getDefaultInstance(), null, Demand.NONE);
        Task second = new Task(2, 2, s, Sim.BODY, TaskPolicy.getDefaultInstance(), null, Demand.NONE);
        assertNull(table.overBudget(s, first));
        table.admit(first);
        assertEquals(first.bytes, table.taskBytes);
        assertTrue(table.overBudget(s, second).contains("--max-tasks-per-client"), table.overBudget(s, second));
        assertTrue(table.retire(first));
        assertEquals(0, table.taskBytes);
        assertNull(table.overBudget(s, second));
        assertTrue(!table.retire(first), "retired once only");
    }
}
