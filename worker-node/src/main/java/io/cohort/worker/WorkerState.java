package io.cohort.worker;

import com.google.protobuf.ByteString;
import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerTaskStarted;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The worker's task bookkeeping as a pure state machine: {@link #handle(Event)} turns one
 * event into the commands the shell must carry out. No gRPC, threads or clock.
 *
 * <p>Design notes. Tasks move {@code RECEIVED -> RUNNING -> DONE} by the table in
 * {@link #TRANSITIONS}; a done task leaves the map. A slot holds one <em>run</em> (a task
 * started on it, numbered by {@code runId}) until its thread reports it finished. When a
 * running task is stopped early (cancel with interrupt, timeout, drain timeout, lost stream)
 * its result is decided at once and the run becomes an <em>orphan</em>: it keeps its slot
 * until the thread returns, and whatever it returns is ignored. One state lives for the
 * daemon's whole life, so orphans from a lost stream still occupy their slots after a
 * reconnect.
 *
 * <p>Not thread-safe: the shell calls it under one lock.
 */
final class WorkerState {
    /** Where a task is on this worker. */
    enum Phase { RECEIVED, RUNNING, DONE }

    /** What moves a task between phases. */
    enum Step { START, FINISH, CANCEL, STOP, RETURN, REJECT, FORGET }

    /** (phase, step) -> next phase; anything else is a bug and throws with the task's story. */
    static final Map<Phase, Map<Step, Phase>> TRANSITIONS = new EnumMap<>(Map.of(
            Phase.RECEIVED, new EnumMap<>(Map.of(
                    Step.START, Phase.RUNNING,
                    Step.CANCEL, Phase.DONE,       // cancel order before it started
                    Step.RETURN, Phase.DONE,       // handed back while draining, or reclaimed
                    Step.REJECT, Phase.DONE,       // cannot run here (e.g. unknown function)
                    Step.FORGET, Phase.DONE)),     // stream lost
            Phase.RUNNING, new EnumMap<>(Map.of(
                    Step.FINISH, Phase.DONE,
                    Step.STOP, Phase.DONE,         // interrupted: cancel, timeout, drain timeout
                    Step.FORGET, Phase.DONE)),
            Phase.DONE, new EnumMap<>(Step.class)));

    // ---- events ----

    /** Something that happened, from the stream, a task thread or a timer. */
    sealed interface Event {}

    /** The coordinator accepted the attachment. */
    record Welcomed(String workerId) implements Event {}

    /**
     * Functions (by digest) that assigns on this stream may refer to, after forgetting those
     * the coordinator said no task here uses any more.
     */
    record FunctionsDefined(List<ByteString> forgotten, List<ByteString> digests) implements Event {
        FunctionsDefined(List<ByteString> digests) {
            this(List.of(), digests);
        }
    }

    /** A batch of assigned tasks. */
    record Assigned(List<TaskAssign> assigns) implements Event {}

    record CancelOrdered(TaskCancelOrder order) implements Event {}

    /** A slot's thread picked up the run and is about to call the task. */
    record Began(int slot, long runId) implements Event {}

    /** A slot's thread finished the run; {@code outcome} is how the task ended (null if skipped). */
    record Finished(int slot, long runId, WorkerTaskResult outcome) implements Event {}

    /** The run's timeout elapsed (may be stale: ignored when the run is over). */
    record TimedOut(int slot, long runId) implements Event {}

    record DrainRequested() implements Event {}

    /** The drain timeout elapsed: stop what still runs. */
    record DrainTimedOut() implements Event {}

    /** The stream ended; the coordinator re-queues everything this worker held. */
    record StreamLost(String reason) implements Event {}

    // ---- commands ----

    /** What the shell must do; commands of one event are carried out in order. */
    sealed interface Command {}

    /** Run the assign on the slot's thread under the given run number. */
    record StartTask(int slot, long runId, TaskAssign assign) implements Command {}

    /** Interrupt the run if it is (or is about to be) on the slot's thread; never another run. */
    record Interrupt(int slot, long runId) implements Command {}

    /** Fire {@link TimedOut} for the run after {@code timeoutMs}. */
    record ArmTimeout(int slot, long runId, long timeoutMs) implements Command {}

    record SendStarted(WorkerTaskStarted started) implements Command {}

    record SendResult(WorkerTaskResult result) implements Command {}

    /** Tell the coordinator this worker takes no more tasks. */
    record SendDraining() implements Command {}

    /** Drain is over: flush what is queued, close the stream, stop. */
    record CloseStream() implements Command {}

    // ---- state ----

    record TaskId(long key, int attempt) {
        static TaskId of(long key, int attempt) {
            return new TaskId(key, attempt);
        }

        @Override
        public String toString() {
            return key + "/" + attempt;
        }
    }

    static final class Task {
        final TaskId id;
        final TaskAssign assign;
        Phase phase = Phase.RECEIVED;
        int slot = -1;
        long runId;

        Task(TaskId id, TaskAssign assign) {
            this.id = id;
            this.assign = assign;
        }
    }

    /** A run holding a slot; {@code task} is null once it is an orphan. */
    static final class Run {
        final long runId;
        Task task;
        boolean began;

        Run(long runId, Task task) {
            this.runId = runId;
            this.task = task;
        }
    }

    private static final int STORY_LIMIT = 512;

    private final int slotCount;
    private final Map<TaskId, Task> tasks = new HashMap<>();
    private final ArrayDeque<Task> queue = new ArrayDeque<>();   // RECEIVED in arrival order; DONE ones skipped lazily
    private final Run[] slots;
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();   // LIFO: a finishing slot takes the next task itself
    private final Set<ByteString> functions = new HashSet<>();
    private final ArrayDeque<Note> story = new ArrayDeque<>();
    private String workerId;
    private boolean attached;
    private boolean draining;
    private boolean closing;
    private int running;
    private long lastRunId;

    WorkerState(int slotCount, String requestedId) {
        if (slotCount < 1) {
            throw new IllegalArgumentException("slots must be at least 1, was " + slotCount);
        }
        this.slotCount = slotCount;
        this.slots = new Run[slotCount];
        for (int i = slotCount - 1; i >= 0; i--) {
            freeSlots.push(i);
        }
        this.workerId = requestedId == null ? "" : requestedId;
    }

    /** Applies one event and returns the commands it calls for, in order. */
    List<Command> handle(Event event) {
        List<Command> out = new ArrayList<>(2);
        if (event instanceof Welcomed e) {
            workerId = e.workerId();
            attached = true;
        } else if (event instanceof FunctionsDefined e) {
            if (attached) {
                e.forgotten().forEach(functions::remove);
                functions.addAll(e.digests());
            }
        } else if (event instanceof Assigned e) {
            for (TaskAssign a : e.assigns()) {
                assign(a, out);
            }
            fillSlots(out);
        } else if (event instanceof CancelOrdered e) {
            cancel(e.order(), out);
        } else if (event instanceof Began e) {
            began(e, out);
        } else if (event instanceof Finished e) {
            finished(e, out);
        } else if (event instanceof TimedOut e) {
            timedOut(e, out);
        } else if (event instanceof DrainRequested) {
            drainRequested(out);
        } else if (event instanceof DrainTimedOut) {
            drainTimedOut(out);
        } else if (event instanceof StreamLost e) {
            streamLost(e, out);
        }
        return out;
    }

    private void assign(TaskAssign a, List<Command> out) {
        if (!attached) {
            return;   // cannot happen on a well-behaved stream: welcome comes first
        }
        TaskId id = TaskId.of(a.getTaskKey(), a.getAttempt());
        if (tasks.containsKey(id)) {
            return;   // a duplicate delivery
        }
        Task t = new Task(id, a);
        tasks.put(id, t);
        note(t, "received");
        if (draining) {
            move(t, Step.RETURN);
            out.add(new SendResult(result(t, TaskStatus.RETURNED).build()));
            return;
        }
        String refusal = refusal(a);
        if (refusal != null) {
            move(t, Step.REJECT);
            out.add(new SendResult(result(t, TaskStatus.FAILED)
                    .setError(TaskErrors.plain("java.lang.IllegalArgumentException", refusal, workerId))
                    .build()));
            return;
        }
        queue.add(t);
    }

    private String refusal(TaskAssign a) {
        boolean hasBody = !a.getSpec().getBody().isEmpty();
        boolean hasDigest = !a.getSpec().getFunctionDigest().isEmpty();
        if (hasBody == hasDigest) {
            return "task " + describe(a) + " must carry exactly one of body and function_digest";
        }
        if (hasDigest && !functions.contains(a.getSpec().getFunctionDigest())) {
            return "task " + describe(a) + " refers to a function not sent on this stream (digest "
                    + hex(a.getSpec().getFunctionDigest()) + ")";
        }
        return null;
    }

    private void cancel(TaskCancelOrder order, List<Command> out) {
        Task t = tasks.get(TaskId.of(order.getTaskKey(), order.getAttempt()));
        if (t == null) {
            return;   // already ended: its result went out before
        }
        if (order.getReclaim()) {
            // Wanted by an idle worker: hand it back only if no slot has taken it, so it starts once.
            if (t.phase == Phase.RECEIVED) {
                move(t, Step.RETURN);
                out.add(new SendResult(result(t, TaskStatus.RETURNED).build()));
            } else {
                note(t, "reclaim after it started: left running");
            }
        } else if (t.phase == Phase.RECEIVED) {
            move(t, Step.CANCEL);
            out.add(new SendResult(result(t, TaskStatus.CANCELLED).build()));
        } else if (order.getInterrupt()) {
            stop(t, result(t, TaskStatus.CANCELLED).build(), out);
        } else {
            note(t, "cancel without interrupt: left running");
        }
    }

    private void began(Began e, List<Command> out) {
        Run run = run(e.slot(), e.runId(), "began");
        if (run.began) {
            throw new IllegalStateException("run " + e.runId() + " began twice" + storyOf(run.task));
        }
        run.began = true;
        Task t = run.task;
        if (t == null) {
            return;   // stopped before its thread got to it
        }
        note(t, "began on slot ", e.slot());
        out.add(new SendStarted(WorkerTaskStarted.newBuilder()
                .setTaskKey(t.id.key()).setAttempt(t.id.attempt()).build()));
        if (t.assign.getTimeoutMs() > 0) {
            out.add(new ArmTimeout(e.slot(), e.runId(), t.assign.getTimeoutMs()));
        }
    }

    private void finished(Finished e, List<Command> out) {
        Run run = run(e.slot(), e.runId(), "finished");
        slots[e.slot()] = null;
        freeSlots.push(e.slot());
        Task t = run.task;
        if (t != null) {
            if (e.outcome() == null || e.outcome().getTaskKey() != t.id.key()
                    || e.outcome().getAttempt() != t.id.attempt()) {
                throw new IllegalStateException("run " + e.runId() + " of task " + t.id
                        + " finished with an outcome for another task" + storyOf(t));
            }
            running--;
            move(t, Step.FINISH);
            out.add(new SendResult(e.outcome()));
            closeIfDrained(out);
        }
        fillSlots(out);
    }

    private void timedOut(TimedOut e, List<Command> out) {
        if (e.slot() < 0 || e.slot() >= slotCount) {
            throw new IllegalArgumentException("no slot " + e.slot());
        }
        Run run = slots[e.slot()];
        if (run == null || run.runId != e.runId() || run.task == null) {
            return;   // the run ended before its timer fired
        }
        Task t = run.task;
        String message = "task " + describe(t.assign) + " timed out after " + t.assign.getTimeoutMs()
                + " ms on worker " + workerId;
        stop(t, result(t, TaskStatus.TIMED_OUT)
                .setError(TaskErrors.plain("java.util.concurrent.TimeoutException", message, workerId))
                .build(), out);
    }

    private void drainRequested(List<Command> out) {
        if (draining) {
            return;
        }
        draining = true;
        if (attached) {
            out.add(new SendDraining());
            for (Task t : queue) {
                if (t.phase == Phase.RECEIVED) {
                    move(t, Step.RETURN);
                    out.add(new SendResult(result(t, TaskStatus.RETURNED).build()));
                }
            }
        }
        queue.clear();
        closeIfDrained(out);
    }

    private void drainTimedOut(List<Command> out) {
        if (!draining || closing) {
            return;
        }
        for (Run run : slots) {
            if (run != null && run.task != null) {
                Task t = run.task;
                stop(t, result(t, TaskStatus.CANCELLED).setError(TaskErrors.plain(
                        "java.util.concurrent.CancellationException",
                        "task " + describe(t.assign) + " was still running when worker " + workerId
                                + " reached its drain timeout", workerId)).build(), out);
            }
        }
        closeIfDrained(out);
    }

    private void streamLost(StreamLost e, List<Command> out) {
        for (Task t : new ArrayList<>(tasks.values())) {
            note(t, "stream lost: ", e.reason());
            if (t.phase == Phase.RUNNING) {
                orphan(t, out);
            }
            move(t, Step.FORGET);
        }
        queue.clear();
        functions.clear();
        attached = false;
        if (draining && !closing) {
            closing = true;
            out.add(new CloseStream());
        }
    }

    /** Ends a running task now with {@code result}; its thread is interrupted and its own outcome ignored. */
    private void stop(Task t, WorkerTaskResult result, List<Command> out) {
        orphan(t, out);
        move(t, Step.STOP);
        out.add(new SendResult(result));
    }

    private void orphan(Task t, List<Command> out) {
        slots[t.slot].task = null;
        running--;
        out.add(new Interrupt(t.slot, t.runId));
    }

    private void fillSlots(List<Command> out) {
        while (attached && !draining && !freeSlots.isEmpty()) {
            Task t = queue.poll();
            if (t == null) {
                return;
            }
            if (t.phase != Phase.RECEIVED) {
                continue;
            }
            int slot = freeSlots.pop();
            t.slot = slot;
            t.runId = ++lastRunId;
            slots[slot] = new Run(t.runId, t);
            running++;
            move(t, Step.START);
            out.add(new StartTask(slot, t.runId, t.assign));
        }
    }

    private void closeIfDrained(List<Command> out) {
        if (draining && !closing && running == 0) {
            closing = true;
            out.add(new CloseStream());
        }
    }

    private Run run(int slot, long runId, String what) {
        Run run = slot >= 0 && slot < slotCount ? slots[slot] : null;
        if (run == null || run.runId != runId) {
            throw new IllegalStateException("run " + runId + " " + what + " on slot " + slot
                    + " which holds " + (run == null ? "nothing" : "run " + run.runId));
        }
        return run;
    }

    private void move(Task t, Step step) {
        Phase to = TRANSITIONS.get(t.phase).get(step);
        if (to == null) {
            throw new IllegalStateException("task " + t.id + ": no transition " + step + " from "
                    + t.phase + storyOf(t));
        }
        note(t, t.phase, " -", step, "-> ", to);
        t.phase = to;
        if (to == Phase.DONE) {
            tasks.remove(t.id);
        }
    }

    /** One line of a task's story, kept in parts: joined into text only when someone asks (rarely). */
    private record Note(TaskId id, Object[] parts) {
        String text() {
            StringBuilder b = new StringBuilder();
            for (Object part : parts) {
                b.append(part);
            }
            return b.toString();
        }
    }

    /** Notes a step of {@code t}'s story; the parts must be immutable (enums, numbers, strings). */
    private void note(Task t, Object... parts) {
        if (story.size() == STORY_LIMIT) {
            story.removeFirst();
        }
        story.addLast(new Note(t.id, parts));
    }

    private WorkerTaskResult.Builder result(Task t, TaskStatus status) {
        return WorkerTaskResult.newBuilder().setTaskKey(t.id.key()).setAttempt(t.id.attempt()).setStatus(status);
    }

    // ---- queries, for the shell and tests ----

    /** The recent history of one task, oldest first (bounded). */
    List<String> story(long key, int attempt) {
        TaskId id = TaskId.of(key, attempt);
        List<String> out = new ArrayList<>();
        for (Note n : story) {
            if (n.id().equals(id)) {
                out.add(n.text());
            }
        }
        return out;
    }

    private String storyOf(Task t) {
        return t == null ? "" : "; story: " + story(t.id.key(), t.id.attempt());
    }

    Phase phase(long key, int attempt) {
        Task t = tasks.get(TaskId.of(key, attempt));
        return t == null ? Phase.DONE : t.phase;
    }

    String workerId() {
        return workerId;
    }

    boolean attached() {
        return attached;
    }

    boolean draining() {
        return draining;
    }

    int runningCount() {
        return running;
    }

    int queuedCount() {
        int n = 0;
        for (Task t : queue) {
            if (t.phase == Phase.RECEIVED) {
                n++;
            }
        }
        return n;
    }

    /** Slots whose thread is busy, including orphans. */
    int busySlots() {
        return slotCount - freeSlots.size();
    }

    /** Checks every invariant; throws IllegalStateException naming the broken one. */
    void validate() {
        int received = 0;
        int runningTasks = 0;
        for (Task t : tasks.values()) {
            check(t.phase != Phase.DONE, "done task " + t.id + " still held");
            if (t.phase == Phase.RECEIVED) {
                received++;
            } else {
                runningTasks++;
                check(t.slot >= 0 && t.slot < slotCount, "running task " + t.id + " has no slot");
                Run run = slots[t.slot];
                check(run != null && run.runId == t.runId && run.task == t,
                        "running task " + t.id + " is not the run on slot " + t.slot);
            }
        }
        check(received == queuedCount(), "queue holds " + queuedCount() + " tasks, map " + received);
        for (Task t : queue) {
            check(t.phase != Phase.RUNNING, "running task " + t.id + " still queued");
            check(t.phase == Phase.DONE || tasks.get(t.id) == t, "queued task " + t.id + " not in the map");
        }
        check(runningTasks == running, "running count " + running + " but " + runningTasks + " running tasks");
        Set<Integer> free = new HashSet<>(freeSlots);
        check(free.size() == freeSlots.size(), "a slot is free twice");
        for (int i = 0; i < slotCount; i++) {
            check(free.contains(i) == (slots[i] == null), "slot " + i + " is both free and busy, or neither");
            Run run = slots[i];
            if (run != null && run.task != null) {
                check(tasks.get(run.task.id) == run.task && run.task.phase == Phase.RUNNING,
                        "slot " + i + " runs a task that is not RUNNING");
            }
        }
        check(!(attached && !draining && received > 0 && !freeSlots.isEmpty()), "a slot idles while tasks wait");
        check(!draining || received == 0, "tasks wait while draining");
        check(attached || tasks.isEmpty(), "tasks held while not attached");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("invariant broken: " + what);
        }
    }

    static String describe(TaskAssign a) {
        String id = a.getTaskKey() + "/" + a.getAttempt();
        return a.getName().isEmpty() ? id : "'" + a.getName() + "' (" + id + ")";
    }

    private static String hex(ByteString bytes) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < Math.min(bytes.size(), 8); i++) {
            b.append(String.format("%02x", bytes.byteAt(i)));
        }
        return b.toString();
    }
}
