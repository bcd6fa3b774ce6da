package io.cohort.coordinator.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Adaptive prefetch: a worker gets more than slots + prefetch tasks only of functions seen to
 * run briefly, and never more than slots + max_prefetch.
 */
class AdaptivePrefetchTest {
    private static final long CLIENT = 1;
    private static final long W1 = 100;
    private static final long W2 = 200;
    private static final long MICROSECOND = 1_000;
    private static final long MILLISECOND = 1_000_000;

    private final Sim sim = new Sim();
    private final FunctionDef quick = Sim.function("quick");
    private final FunctionDef slow = Sim.function("slow");
    private long nextTaskId = 1;

    private List<Command> attach(long stream, String id, int slots, int prefetch, int maxPrefetch) {
        return sim.on(new Event.WorkerAttached(stream, id, "host", 42, slots, prefetch, Map.of(), Set.of(), false, maxPrefetch));
    }

    private List<Command> submit(FunctionDef f, int count, int argumentBytes, boolean chunk) {
        List<Command> out = new ArrayList<>(sim.on(new Event.FunctionsDefined(CLIENT, List.of(f))));
        for (int i = 0; i < count; i++) {
            TaskSpec spec = TaskSpec.newBuilder().setFunctionDigest(f.getDigest()).setChunk(chunk)
                    .setArgument(ByteString.copyFrom(new byte[argumentBytes])).build();
            out.addAll(sim.on(new Event.TaskSubmitted(CLIENT, nextTaskId++, spec, TaskPolicy.getDefaultInstance())));
        }
        return out;
    }

    private List<Command> finish(long worker, Command.Assign a, long runNanos) {
        return sim.on(new Event.TaskEnded(worker, WorkerTaskResult.newBuilder().setTaskKey(a.assign().getTaskKey())
                .setAttempt(a.assign().getAttempt()).setStatus(TaskStatus.SUCCEEDED).setRunNanos(runNanos).build()));
    }

    private static List<Command.Assign> assigns(List<Command> commands, long worker) {
        return Sim.all(commands, Command.Assign.class).stream().filter(a -> a.stream() == worker).toList();
    }

    @Test
    void shortTasksFillTheQueueUpToMaxPrefetchOnceSeenToRunBriefly() {
        sim.client(CLIENT);
        attach(W1, "w1", 1, 1, 100);
        List<Command.Assign> first = assigns(submit(quick, 500, 8, false), W1);
        assertEquals(2, first.size(), "a function never seen runs: slots + prefetch only");

        List<Command.Assign> more = assigns(finish(W1, first.get(0), 5 * MICROSECOND), W1);
        assertEquals(100, more.size(), "seen to take 5 µs: up to slots + max_prefetch (1 + 100) unfinished");
        assertTrue(assigns(finish(W1, first.get(1), 5 * MICROSECOND), W1).size() == 1, "one ends, one more goes");
    }

    @Test
    void queuedWorkStaysWithinTheBudgetPerSlot() {
        sim.client(CLIENT);
        attach(W1, "w1", 2, 2, 1000);
        List<Command.Assign> first = assigns(submit(quick, 500, 8, false), W1);
        assertEquals(4, first.size());
        long run = 100 * MICROSECOND;   // budget 2 ms per slot, 2 slots: 40 queued beyond the slots
        List<Command.Assign> more = assigns(finish(W1, first.get(0), run), W1);
        assertEquals(2 + 40 - 3, more.size(), "unfinished = slots + 40 once estimated at 100 µs");
    }

    @Test
    void aSlowFunctionNeverGoesBeyondBaseCredit() {
        sim.client(CLIENT);
        attach(W1, "w1", 1, 1, 100);
        List<Command.Assign> first = assigns(submit(slow, 50, 8, false), W1);
        assertEquals(2, first.size());
        List<Command.Assign> next = assigns(finish(W1, first.get(0), 50 * MILLISECOND), W1);
        assertEquals(1, next.size(), "a 50 ms task: slots + prefetch, as without adaptive prefetch");
    }

    @Test
    void oneSlowRunStopsTheDeepQueueAtOnce() {
        sim.client(CLIENT);
        attach(W1, "w1", 1, 1, 100);
        List<Command.Assign> out = new ArrayList<>(assigns(submit(quick, 1000, 8, false), W1));
        out.addAll(assigns(finish(W1, out.remove(0), 5 * MICROSECOND), W1));
        assertEquals(101, out.size(), "unfinished: slots + max_prefetch");
        // The same function now runs for 20 ms: nothing more is sent until the queue is back to base credit.
        List<Command.Assign> after = assigns(finish(W1, out.remove(0), 20 * MILLISECOND), W1);
        assertEquals(0, after.size());
        int sent = 0;
        while (out.size() > 2) {
            sent += assigns(finish(W1, out.remove(0), 20 * MILLISECOND), W1).size();
        }
        assertEquals(0, sent, "while 98 more quick-turned-slow tasks end, none goes beyond slots + prefetch");
        assertEquals(1, assigns(finish(W1, out.remove(0), 20 * MILLISECOND), W1).size());
    }

    @Test
    void anAbsurdRunTimeCountsAsLong() {
        sim.client(CLIENT);
        attach(W1, "w1", 1, 1, 100);
        List<Command.Assign> first = assigns(submit(quick, 50, 8, false), W1);
        assertEquals(1, assigns(finish(W1, first.get(0), Long.MAX_VALUE), W1).size());
    }

    @Test
    void aDeepQueueOfShortTasksDoesNotStarveAnotherSessionsTask() {
        long other = 2;
        sim.client(CLIENT);
        sim.client(other);
        attach(W1, "w1", 1, 1, 100);
        List<Command.Assign> out = new ArrayList<>(assigns(submit(quick, 1000, 8, false), W1));
        out.addAll(assigns(finish(W1, out.remove(0), 5 * MICROSECOND), W1));
        assertEquals(101, out.size());
        TaskSpec unknown = TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("long")).build();
        sim.on(new Event.TaskSubmitted(other, 1, unknown, TaskPolicy.getDefaultInstance()));
        // Each quick task that ends frees credit; the other session's task waits for base credit,
        // so no quick task may take the freed room beyond it, or the queue would never drain.
        Command.Assign theirs = null;
        int quickSent = 0;
        for (int i = 0; i < 200 && theirs == null; i++) {
            List<Command.Assign> next = assigns(finish(W1, out.remove(0), 5 * MICROSECOND), W1);
            for (Command.Assign a : next) {
                if (a.assign().getSpec().equals(unknown)) {
                    theirs = a;
                } else {
                    out.add(a);
                    quickSent++;
                }
            }
        }
        assertTrue(theirs != null, "the other session's task was assigned once the queue drained");
        assertTrue(quickSent <= 1, "quick tasks sent while it waited: " + quickSent);
    }

    @Test
    void chunkTasksAreNotPrefetchedDeeply() {
        sim.client(CLIENT);
        attach(W1, "w1", 1, 1, 100);
        List<Command.Assign> first = assigns(submit(quick, 50, 8, true), W1);
        assertEquals(2, first.size());
        assertEquals(1, assigns(finish(W1, first.get(0), MICROSECOND), W1).size());
    }

    @Test
    void bigTasksStopAtTheByteBudget() {
        sim.client(CLIENT);
        attach(W1, "w1", 1, 1, 1000);
        int size = 1 << 20;
        List<Command.Assign> first = assigns(submit(quick, 40, size, false), W1);
        assertEquals(2, first.size());
        List<Command.Assign> more = assigns(finish(W1, first.get(0), MICROSECOND), W1);
        long heldAfter = (1L + more.size()) * (size + 40);
        assertTrue(more.size() >= 5 && heldAfter <= Scheduler.PREFETCH_BYTES,
                "beyond base credit only while the worker holds at most 8 MiB of tasks: " + more.size() + " sent");
    }

    @Test
    void tasksSpreadEvenlyOverWorkers() {
        sim.client(CLIENT);
        attach(W1, "w1", 1, 1, 100);
        attach(W2, "w2", 1, 1, 100);
        List<Command> out = submit(quick, 1000, 8, false);
        Command.Assign a1 = assigns(out, W1).get(0);
        Command.Assign a2 = assigns(out, W2).get(0);
        List<Command> more = new ArrayList<>(finish(W1, a1, 3 * MICROSECOND));
        more.addAll(finish(W2, a2, 3 * MICROSECOND));
        int toW1 = assigns(more, W1).size();
        int toW2 = assigns(more, W2).size();
        assertEquals(100, toW1, "w1 full again at slots + max_prefetch");
        assertEquals(toW1, toW2);
    }

    @Test
    void aWorkerWithoutMaxPrefetchKeepsItsFixedCredit() {
        sim.client(CLIENT);
        sim.worker(W1, "w1", 1, 3);
        List<Command.Assign> first = assigns(submit(quick, 100, 8, false), W1);
        assertEquals(4, first.size());
        assertEquals(1, assigns(finish(W1, first.get(0), MICROSECOND), W1).size());
    }

    @Test
    void aMaxPrefetchThatWouldOverflowTheCreditIsRefused() {
        List<Command> out = attach(W1, "w1", 2, 1, Integer.MAX_VALUE);
        Command.CloseStream close = Sim.only(out, Command.CloseStream.class);
        assertEquals("slots + max_prefetch is too large: 2 + 2147483647", close.message());
    }
}
