package io.cohort.coordinator.core;

import com.google.protobuf.ByteString;
import io.cohort.common.Digests;
import io.cohort.common.TaskErrors;
import io.cohort.coordinator.core.Command.CloseCode;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskProcessOutput;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStarted;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerProcessOutput;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The coordinator's scheduling state machine: sessions, tasks and workers, with no I/O, no
 * threads and no clock of its own ({@link Event.Tick} brings the time).
 *
 * <p>Not thread-safe: one thread calls {@link #apply} for each event, then {@link #dispatch}
 * once for the batch. {@link #handle} does both for one event (tests).
 *
 * <p>Design notes for maintainers. This class turns each event into steps of its parts and
 * decides what crosses them; each part keeps its own books and checks its own invariants:
 * <ul>
 *   <li>{@link SessionTable}: open sessions, their ids, budgets; {@link ClientSession} each.
 *   <li>{@link TaskQueue}: queued tasks by priority, session round-robin and demand lane.
 *   <li>{@link WorkerPool}: workers, credit and prefetch, suspects, assign and release, reclaims.
 *   <li>{@link Endings}: results to clients (sent, held, journalled), requeue after a loss.
 *   <li>{@link TaskLedger}: each task's moves, their story and the state counts.
 * </ul>
 * Placement timeout is per lane: once attached workers that could never run the lane's demand
 * have been all there was for the timeout in total (the clock pauses while no worker is
 * attached and restarts when a fitting one is seen), the lane's queued tasks are rejected.
 */
public final class Scheduler {
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());
    static final String WORKER_LOST_CLASS = "io.cohort.client.WorkerLostException";
    static final String COHORT_EXCEPTION_CLASS = "io.cohort.client.CohortException";
    static final String CANCELLATION_CLASS = "java.util.concurrent.CancellationException";
    /** A budget refused the task: the client's submit failed as an executor's does when it is full. */
    static final String REJECTED_EXECUTION_CLASS = "java.util.concurrent.RejectedExecutionException";
    /** Adaptive prefetch: estimated work a worker may hold queued beyond its base credit, per slot. */
    static final long PREFETCH_BUDGET_NANOS = 2_000_000;
    /** Adaptive prefetch: task bytes a worker may hold before it is sent no task beyond its base credit. */
    static final long PREFETCH_BYTES = 8L << 20;
    static final int DEFAULT_IDLE_FUNCTIONS_PER_SESSION = 1024;
    /** Definitions no task on it uses that a worker is left with; beyond, it is told to forget the longest idle. */
    static final int IDLE_FUNCTIONS_PER_WORKER = 256;

    private final long placementTimeoutMs;
    /** How long a session whose stream broke waits to be resumed; 0: it ends at once. */
    private final long sessionGraceMs;
    /** Whether to make {@link Command.ToJournal} records. */
    private final boolean journaling;
    private final Step step = new Step();
    private final TaskLedger ledger = new TaskLedger(step);
    private final SessionTable sessions;
    private final TaskQueue queue = new TaskQueue(step);
    private final WorkerPool pool;
    private final Endings endings;
    private long nextTaskKey = 1;
    /** Commands made while recovering sessions, before any sink: handed to the first {@link #apply}. */
    private final List<Command> deferred = new ArrayList<>(0);

    /** With predictable session ids (see {@link #predictableIds}): for tests and benchmarks, not servers. */
    public Scheduler(long heartbeatTimeoutMs, long placementTimeoutMs) {
        this(heartbeatTimeoutMs, placementTimeoutMs, 0, false);
    }

    /** With predictable session ids (see {@link #predictableIds}): for tests and benchmarks, not servers. */
    public Scheduler(long heartbeatTimeoutMs, long placementTimeoutMs, long sessionGraceMs, boolean journaling) {
        this(heartbeatTimeoutMs, placementTimeoutMs, sessionGraceMs, journaling, Integer.MAX_VALUE);
    }

    /** With predictable session ids (see {@link #predictableIds}): for tests and benchmarks, not servers. */
    public Scheduler(long heartbeatTimeoutMs, long placementTimeoutMs, long sessionGraceMs, boolean journaling,
                     int maxTasksPerSession) {
        this(heartbeatTimeoutMs, placementTimeoutMs, sessionGraceMs, journaling,
                Budgets.NONE.withTasksPerClient(maxTasksPerSession), predictableIds(1));
    }

    /**
     * {@code sessionIdBits}: where session ids come from. Whoever holds a session's id owns the
     * session, so a server gives unguessable bits (a SecureRandom's).
     */
    public Scheduler(long heartbeatTimeoutMs, long placementTimeoutMs, long sessionGraceMs, boolean journaling,
                     Budgets budgets, LongSupplier sessionIdBits) {
        if (heartbeatTimeoutMs <= 0 || placementTimeoutMs <= 0 || sessionGraceMs < 0) {
            throw new IllegalArgumentException("timeouts must be positive");
        }
        this.placementTimeoutMs = placementTimeoutMs;
        this.sessionGraceMs = sessionGraceMs;
        this.journaling = journaling;
        this.sessions = new SessionTable(budgets, sessionIdBits);
        this.pool = new WorkerPool(step, ledger, heartbeatTimeoutMs);
        this.endings = new Endings(step, ledger, sessions, queue, journaling);
    }

    /**
     * Session id bits from a seeded generator: ids look like a server's, and the same seed gives
     * the same ids, so for tests and benchmarks only (anyone could guess them).
     */
    public static LongSupplier predictableIds(long seed) {
        return new java.util.SplittableRandom(seed)::nextLong;
    }

    /**
     * Function definitions no live task uses that each session keeps; beyond, the longest idle
     * are dropped, and a task naming one is rejected with {@code undefined_function} so that its
     * client defines it again. Call before the first event.
     */
    public void limitIdleFunctions(int perSession) {
        if (perSession < 1) {
            throw new IllegalArgumentException("idle functions per session must be at least 1, not " + perSession);
        }
        sessions.idleFunctionsPerSession = perSession;
    }

    /** Function definitions a session holds now (tests, status). */
    public int functionsOf(String sessionId) {
        ClientSession s = sessions.byId(sessionId);
        return s == null ? 0 : s.functions.size();
    }

    /** Function definitions a worker holds now, as far as this scheduler knows (tests). */
    public int functionsOnWorker(String workerId) {
        WorkerNode w = pool.byId(workerId);
        return w == null ? 0 : w.sentFunctions.size();
    }

    /** Applies one event and dispatches; returns every command in order. */
    public List<Command> handle(Event event) {
        List<Command> commands = new ArrayList<>();
        apply(event, commands::add);
        dispatch(commands::add);
        return commands;
    }

    /** Applies one event without assigning queued tasks; call {@link #dispatch} after a batch. */
    public void apply(Event event, Consumer<Command> sink) {
        step.out = sink;
        if (!deferred.isEmpty()) {
            deferred.forEach(sink);
            deferred.clear();
        }
        if (event instanceof Event.TaskSubmitted e) {
            submit(e);
        } else if (event instanceof Event.TaskEnded e) {
            taskEnded(e.stream(), e.result());
        } else if (event instanceof Event.TaskStartedOnWorker e) {
            taskStarted(e.stream(), e.taskKey(), e.attempt());
        } else if (event instanceof Event.WorkerHeard e) {
            pool.heard(e.stream());
        } else if (event instanceof Event.CancelRequested e) {
            cancel(e.stream(), e.taskId(), e.interrupt(), e.signal());
        } else if (event instanceof Event.ProcessOutputReported e) {
            forwardOutput(e.stream(), e.output());
        } else if (event instanceof Event.FunctionsDefined e) {
            defineFunctions(e.stream(), e.functions());
        } else if (event instanceof Event.SessionOpened e) {
            openSession(e);
        } else if (event instanceof Event.SessionClosed e) {
            ClientSession s = sessions.byStream(e.stream());
            if (s != null) {
                closeSession(s);
            }
        } else if (event instanceof Event.SessionLost e) {
            ClientSession s = sessions.byStream(e.stream());
            if (s != null && sessionGraceMs > 0) {
                sessions.detach(s, step.now);
            } else if (s != null) {
                closeSession(s);
            }
        } else if (event instanceof Event.SessionBackedUp e) {
            ClientSession s = sessions.byStream(e.stream());
            if (s != null && s.backedUp != e.backedUp()) {
                s.backedUp = e.backedUp();
                step.dirty |= !e.backedUp();
            }
        } else if (event instanceof Event.WorkerAttached e) {
            pool.attach(e);
        } else if (event instanceof Event.WorkerLost e) {
            WorkerNode w = pool.byStream(e.stream());
            if (w != null) {
                loseWorker(w, e.reason());
            }
        } else if (event instanceof Event.WorkerDraining e) {
            WorkerNode w = pool.byStream(e.stream());
            if (w != null) {
                pool.drain(w);
            }
        } else if (event instanceof Event.AdminDrain e) {
            WorkerNode w = pool.byId(e.workerId());
            if (w != null) {
                pool.drain(w);
            }
            step.emit(new Command.DrainAnswer(e.requestId(), w != null));
        } else if (event instanceof Event.ProtocolViolation e) {
            violation(e.stream(), e.message());
        } else if (event instanceof Event.Tick e) {
            tick(e.nowMillis());
        } else {
            throw new IllegalArgumentException("unknown event " + event);
        }
    }

    // ---- clients

    private void openSession(Event.SessionOpened e) {
        ClientSession s = e.resumeId().isEmpty() ? null : sessions.byId(e.resumeId());
        if (s == null) {
            if (!roomForASession()) {
                step.emit(new Command.CloseStream(e.stream(), CloseCode.RESOURCE_EXHAUSTED, "the coordinator has "
                        + sessions.size() + " open sessions, its limit (--max-sessions): try again later"));
                return;
            }
            s = sessions.open(e.stream(), e.clientName());
            step.emit(welcome(s, false));
            if (journaling) {
                step.emit(new Command.JournalSession(s.id, s.clientName));
            }
            return;
        }
        if (s.attached()) {
            // The client saw its old stream break before we did: the new one takes over.
            step.emit(new Command.CloseStream(s.stream, CloseCode.ABORTED, "session " + s.id + " was resumed on another stream"));
            sessions.detach(s, step.now);
        }
        sessions.resume(s, e.stream());
        step.emit(welcome(s, true));
        for (TaskResult r : s.held) {
            s.answeredOnResume.add(r.getTaskId());
            step.emit(new Command.SendResult(s.stream, r));
            if (journaling) {
                step.emit(new Command.JournalForget(s.id, r.getTaskId()));
            }
        }
        s.dropHeld();
        step.dirty = true;   // its queued tasks may start again
        for (Task t : s.live.values()) {
            if (t.state == TaskState.RUNNING) {
                step.emit(new Command.NotifyStarted(s.stream,
                        TaskStarted.newBuilder().setTaskId(t.taskId).setWorkerId(t.worker.id).build()));
            }
        }
        LOG.log(System.Logger.Level.INFO, "session {0} resumed: {1} tasks unanswered, {2} held results sent",
                s.id, s.live.size(), s.answeredOnResume.size());
    }

    private Command.WelcomeClient welcome(ClientSession s, boolean resumed) {
        Budgets budgets = sessions.budgets;
        return new Command.WelcomeClient(s.stream, s.id, resumed, budgets.tasksPerClient(), budgets.taskBytesPerClient());
    }

    /**
     * Whether one more session may open. At the limit, the oldest session waiting to be resumed
     * with nothing unanswered and nothing held is ended to make room: its client lost nothing
     * (a resume finds the session gone and opens a new one), while a flood of abandoned
     * sessions would otherwise lock every new client out.
     */
    private boolean roomForASession() {
        if (sessions.size() < sessions.budgets.sessions()) {
            return true;
        }
        for (ClientSession old : sessions.detached()) {
            if (old.live.isEmpty() && old.held.isEmpty()) {
                LOG.log(System.Logger.Level.INFO, "session {0} ended early: an empty session waiting to be resumed,"
                        + " and the coordinator is at its limit of sessions (--max-sessions)", old.id);
                closeSession(old);
                return true;
            }
        }
        return false;
    }

    /**
     * Takes up a session from the journal of an earlier run, waiting to be resumed: its tasks
     * are queued again and its held results kept for the client.
     */
    public void recoverSession(String id, String clientName, List<FunctionDef> functions,
                               List<Event.TaskSubmitted> tasks, List<TaskResult> held) {
        ClientSession s = sessions.recover(id, clientName, step.now);
        Map<ByteString, FunctionDef> recovered = new HashMap<>();
        for (FunctionDef f : functions) {
            recovered.put(f.getDigest(), f);
        }
        // Journal records of definitions dropped here go with the first batch the scheduler handles.
        Consumer<ByteString> dropped = digest -> deferred.add(new Command.JournalForgetFunction(s.id, digest));
        for (TaskResult r : held) {
            s.hold(r);
        }
        for (Event.TaskSubmitted e : tasks) {
            FunctionDef function = e.spec().getFunctionDigest().isEmpty() ? null : recovered.get(e.spec().getFunctionDigest());
            if (function != null) {
                s.functions.define(function, dropped);   // in use below, before the next is defined: kept
            }
            Demand demand;
            try {
                demand = Demand.of(e.policy());
            } catch (IllegalArgumentException bad) {
                continue;   // it was accepted once, so this cannot happen unless the journal is damaged
            }
            if (!e.spec().getFunctionDigest().isEmpty() && function == null) {
                continue;
            }
            Task t = new Task(nextTaskKey++, e.taskId(), s, e.spec(), e.policy(), function, demand);
            sessions.admit(t);   // over a budget or not: it was accepted before the restart
            if (function != null) {
                s.functions.use(function.getDigest());
            }
            ledger.move(t, TaskState.QUEUED, "recovered from the journal", null);
            queue.enqueue(t, false);
        }
        for (FunctionDef f : functions) {   // the unused ones, within the cap
            s.functions.define(f, dropped);
        }
    }

    private void defineFunctions(long stream, List<FunctionDef> functions) {
        ClientSession s = sessions.byStream(stream);
        if (s == null) {
            return;
        }
        for (FunctionDef f : functions) {
            if (!Digests.sha256(f.getBody()).equals(f.getDigest())) {
                violation(stream, "function digest " + hex(f.getDigest()) + " is not the SHA-256 of its body");
                return;
            }
            if (s.functions.define(f, digest -> endings.forgetFunction(s, digest)) && journaling) {
                step.emit(new Command.JournalFunction(s.id, f));
            }
        }
    }

    private void submit(Event.TaskSubmitted e) {
        ClientSession s = sessions.byStream(e.stream());
        if (s == null) {
            return;
        }
        if (s.resumed && (s.live.containsKey(e.taskId()) || s.answeredOnResume.remove(e.taskId()))) {
            return;   // sent again after a resume, and held here all along
        }
        if (s.live.containsKey(e.taskId())) {
            violation(e.stream(), "duplicate task_id " + Long.toUnsignedString(e.taskId()) + " in this session");
            return;
        }
        TaskSpec spec = e.spec();
        TaskPolicy policy = e.policy();
        String problem = null;
        FunctionDef function = null;
        ByteString undefined = null;
        Demand demand = Demand.NONE;
        boolean hasBody = !spec.getBody().isEmpty();
        boolean hasDigest = !spec.getFunctionDigest().isEmpty();
        if (!hasBody && !hasDigest) {
            problem = "its spec has neither a body nor a function digest";
        } else if (hasBody && hasDigest) {
            problem = "its spec has both a body and a function digest (exactly one is allowed)";
        } else if (hasDigest) {
            function = s.functions.get(spec.getFunctionDigest());
            if (function == null) {
                undefined = spec.getFunctionDigest();
                problem = "its function digest " + hex(spec.getFunctionDigest()) + " is not defined in this session"
                        + " (never, or it was dropped once no task used it: a session keeps "
                        + sessions.idleFunctionsPerSession + " unused definitions, --max-idle-functions-per-client)";
            }
        }
        if (problem == null) {
            try {
                demand = Demand.of(policy);
            } catch (IllegalArgumentException bad) {
                problem = bad.getMessage();
            }
        }
        Task t = new Task(nextTaskKey++, e.taskId(), s, spec, policy, function, demand);
        String overBudget = problem == null ? sessions.overBudget(s, t) : null;
        if (problem != null || overBudget != null) {
            ledger.move(t, TaskState.REJECTED, "invalid", null);
            TaskResult.Builder rejected = TaskResult.newBuilder().setStatus(TaskStatus.REJECTED).setError(TaskErrors.plain(
                    problem != null ? COHORT_EXCEPTION_CLASS : REJECTED_EXECUTION_CLASS,
                    t.describe() + " was rejected: " + (problem != null ? problem : overBudget), ""));
            if (undefined != null) {
                rejected.setUndefinedFunction(undefined);
            }
            endings.send(t, rejected);
            return;
        }
        sessions.admit(t);
        if (function != null) {
            s.functions.use(function.getDigest());
        }
        ledger.move(t, TaskState.QUEUED, "submitted", null);
        queue.enqueue(t, false);
        if (journaling) {
            step.emit(new Command.JournalTask(s.id, t.taskId, spec, policy));
        }
    }

    private void cancel(long stream, long taskId, boolean interrupt, int signal) {
        ClientSession s = sessions.byStream(stream);
        Task t = s == null ? null : s.live.get(taskId);
        if (t == null) {
            return;
        }
        if (t.state == TaskState.QUEUED) {
            queue.unqueue(t);
            endings.end(t, TaskState.CANCELLED, "cancelled", TaskResult.newBuilder().setStatus(TaskStatus.CANCELLED)
                    .setError(TaskErrors.plain(CANCELLATION_CLASS, t.describe() + " was cancelled before it started", "")));
        } else if (t.state.onWorker()) {
            t.cancelRequested = true;
            t.cancelInterrupt |= interrupt || signal != 0;
            pool.cancelOnWorker(t, interrupt || signal != 0, signal);
        }
    }

    private void closeSession(ClientSession s) {
        sessions.close(s);
        step.emit(new Command.SessionEnded(s.id));
        queue.dropSession(s);
        for (Task t : new ArrayList<>(s.live.values())) {
            if (t.state == TaskState.QUEUED) {
                endings.end(t, TaskState.CANCELLED, "session closed", null);
            } else {
                // Its result will be dropped (the session is closed) when the worker answers.
                t.cancelRequested = true;
                t.cancelInterrupt = true;
                pool.cancelOnWorker(t, true, 0);
            }
        }
    }

    /** Closes the stream with INVALID_ARGUMENT and forgets it. */
    private void violation(long stream, String message) {
        ClientSession s = sessions.byStream(stream);
        if (s != null) {
            step.emit(new Command.CloseStream(stream, CloseCode.INVALID_ARGUMENT, message));
            closeSession(s);
        } else {
            WorkerNode w = pool.byStream(stream);
            if (w != null) {
                step.emit(new Command.CloseStream(stream, CloseCode.INVALID_ARGUMENT, message));
                loseWorker(w, "protocol violation: " + message);
            }
        }
    }

    // ---- workers

    private void loseWorker(WorkerNode w, String reason) {
        List<Task> tasks = pool.remove(w, reason);
        // Backwards, since each goes to the front of its lane: they keep their order.
        for (int i = tasks.size() - 1; i >= 0; i--) {
            Task t = tasks.get(i);
            boolean started = t.state == TaskState.RUNNING;
            pool.release(t);
            if (started) {
                t.losses++;
                if (t.lostOn == null) {
                    t.lostOn = new ArrayList<>(2);
                }
                t.lostOn.add(w.id);
            }
            endings.requeueOrEnd(t, started, "worker lost");
        }
        pool.remember(w);
    }

    private void tick(long nowMillis) {
        step.now = nowMillis;
        long now = nowMillis;
        for (ClientSession s = sessions.oldestDetached(); s != null && now - s.detachedAt >= sessionGraceMs;
             s = sessions.oldestDetached()) {
            LOG.log(System.Logger.Level.INFO, "session {0} was not resumed within {1} ms and ends", s.id, sessionGraceMs);
            closeSession(s);
        }
        for (WorkerNode w : pool.silent()) {
            step.emit(new Command.CloseStream(w.stream, CloseCode.UNAVAILABLE, "worker " + w.id
                    + " sent nothing for " + (now - w.lastHeard) + " ms and is declared lost"));
            loseWorker(w, "heartbeat timeout");
        }
        for (TaskQueue.Lane lane : new ArrayList<>(queue.constrainedLanes)) {
            if (lane.unfit.expired(pool.isEmpty(), pool.fitsSomeWorker(lane.demand), now, placementTimeoutMs)) {
                rejectLane(lane);
            }
        }
        for (Task t : new ArrayList<>(queue.processQueue)) {
            if (t.state == TaskState.QUEUED && !t.demand.isNone()
                    && t.unfit.expired(pool.isEmpty(), pool.fitsSomeWorker(t.demand), now, placementTimeoutMs)) {
                rejectUnplaceable(t, pool.offers());
            }
        }
        if (ledger.running > 0 && pool.anyIdle()) {
            step.dirty = true;   // a task holding a slot may have run long enough for what waits behind it to move
        }
    }

    private void rejectLane(TaskQueue.Lane lane) {
        String offers = pool.offers();
        for (Task t : new ArrayList<>(lane.tasks)) {
            if (t.state == TaskState.QUEUED) {
                rejectUnplaceable(t, offers);
            }
        }
        queue.dropLane(lane);
    }

    private void rejectUnplaceable(Task t, String offers) {
        endings.end(t, TaskState.REJECTED, "placement timeout", TaskResult.newBuilder().setStatus(TaskStatus.REJECTED)
                .setError(TaskErrors.plain(COHORT_EXCEPTION_CLASS, t.describe() + " asks for " + t.demand
                        + ", which no attached worker offered within the placement timeout of "
                        + placementTimeoutMs + " ms; attached workers: " + offers, "")));
    }

    // ---- reports from workers

    /** The task this worker message is about, or null (logged) when it is stale; {@code detail} may be null. */
    private Task taskOn(long stream, long taskKey, int attempt, String what, Object detail) {
        WorkerNode w = pool.byStream(stream);
        Task t = pool.onWorkers.get(taskKey);
        if (w == null || t == null || t.worker != w || t.attempt != attempt) {
            LOG.log(System.Logger.Level.DEBUG, "ignored {0}{1} for task key {2} attempt {3} from stream {4}",
                    what, detail == null ? "" : " " + detail, Long.toUnsignedString(taskKey), attempt, stream);
            return null;
        }
        return t;
    }

    private void taskStarted(long stream, long taskKey, int attempt) {
        Task t = taskOn(stream, taskKey, attempt, "started", null);
        if (t == null || t.state != TaskState.ASSIGNED) {
            return;
        }
        ledger.move(t, TaskState.RUNNING, "started", null);
        pool.started(t);
        if (t.session.attached()) {
            step.emit(new Command.NotifyStarted(t.session.stream,
                    TaskStarted.newBuilder().setTaskId(t.taskId).setWorkerId(t.worker.id).build()));
        }
    }

    private void taskEnded(long stream, WorkerTaskResult r) {
        Task t = taskOn(stream, r.getTaskKey(), r.getAttempt(), "result", r.getStatus());
        if (t == null) {
            return;
        }
        // A worker without reclaims takes the order for a plain cancel: unstarted, so hand it on all the same.
        boolean returned = r.getStatus() == TaskStatus.RETURNED || (r.getStatus() == TaskStatus.CANCELLED
                && t.reclaimAsked && !t.cancelRequested && t.state == TaskState.ASSIGNED);
        pool.release(t);
        if ((r.getStatus() == TaskStatus.SUCCEEDED || r.getStatus() == TaskStatus.FAILED) && !t.spec.getChunk()) {
            pool.observeRunTime(t, r.getRunNanos());
        }
        TaskState to;
        switch (returned ? TaskStatus.RETURNED : r.getStatus()) {
            case RETURNED -> {
                endings.requeueOrEnd(t, false, "returned");
                return;
            }
            case WORKER_LOST -> {
                // A child JVM of the worker died under the task: one lost attempt, as if the worker was lost.
                if (t.state == TaskState.ASSIGNED) {
                    ledger.move(t, TaskState.RUNNING, "started (its loss says so)", t.worker.id);   // its started report may be stale
                }
                t.losses++;
                if (t.lostOn == null) {
                    t.lostOn = new ArrayList<>(2);
                }
                t.lostOn.add(t.worker.id + " (" + (r.hasError() ? r.getError().getMessage() : "a child JVM died") + ")");
                endings.requeueOrEnd(t, true, "child JVM lost");
                return;
            }
            case SUCCEEDED -> to = TaskState.SUCCEEDED;
            case FAILED -> to = TaskState.FAILED;
            case CANCELLED -> to = TaskState.CANCELLED;
            case TIMED_OUT -> to = TaskState.TIMED_OUT;
            default -> {
                endings.end(t, TaskState.FAILED, "bad status", TaskResult.newBuilder().setStatus(TaskStatus.FAILED)
                        .setError(TaskErrors.plain(COHORT_EXCEPTION_CLASS, "worker " + t.worker.id
                                + " reported an invalid status " + r.getStatusValue() + " for " + t.describe(), t.worker.id)));
                return;
            }
        }
        TaskResult.Builder b = TaskResult.newBuilder().setStatus(r.getStatus());
        if (r.getElementErrorsCount() > 0) {
            b.addAllElementErrors(r.getElementErrorsList());
        }
        if (r.hasValue()) {
            b.setValue(r.getValue());
        }
        if (r.hasValuePayload()) {
            b.setValuePayload(r.getValuePayload());
        }
        if (r.hasError()) {
            b.setError(r.getError());
        }
        endings.end(t, to, "result", b);
    }

    /** Straight to the task's session; nothing changes here. */
    private void forwardOutput(long stream, WorkerProcessOutput o) {
        Task t = taskOn(stream, o.getTaskKey(), o.getAttempt(), "process output", null);
        if (t != null && t.session.attached()) {
            step.emit(new Command.ForwardOutput(t.session.stream, TaskProcessOutput.newBuilder()
                    .setTaskId(t.taskId).setOutput(o.getOutput()).build()));
        }
    }

    // ---- dispatch

    /** Assigns what can be assigned now: by priority, round-robin over sessions, FIFO in each. */
    public void dispatch(Consumer<Command> sink) {
        if (!step.dirty) {
            return;
        }
        step.dirty = false;
        step.out = sink;
        pool.creditStarved = false;
        if (pool.holdExtendedCredit) {
            pool.holdExtendedCredit = anyHeadStarvedOfCredit();
        }
        pool.unreserveUnlessSuspects(ledger.queuedSuspects);
        dispatchProcesses();
        for (TaskQueue.Level level : new ArrayList<>(queue.levels.values())) {
            int misses = 0;
            while (pool.canPlace() && !level.ring.isEmpty() && misses < level.ring.size()) {
                TaskQueue.SessionQueue q = level.ring.pollFirst();
                level.ring.addLast(q);
                if (sessions.stalled(q.session)) {
                    misses++;   // it is not taking its results: start no more of its tasks until it does
                    continue;
                }
                TaskQueue.Lane lane = null;
                WorkerNode worker = null;
                Task head = null;
                for (TaskQueue.Lane l : q.lanes.values()) {
                    Task h = l.head();
                    if (head != null && h.key > head.key) {
                        continue;
                    }
                    WorkerNode w = h.suspect() ? pool.emptyWorker(l.demand) : pool.placeFor(h, l.demand);
                    if (w != null) {
                        lane = l;
                        worker = w;
                        head = h;
                    }
                }
                if (lane == null) {
                    misses++;
                    if (!pool.creditStarved) {
                        pool.creditStarved = q.lanes.values().stream().anyMatch(l -> pool.starvedOfCredit(l.head(), l.demand));
                    }
                    continue;
                }
                misses = 0;
                queue.take(lane);
                pool.assign(head, worker);
            }
            if (!pool.canPlace()) {
                break;
            }
        }
        pool.holdExtendedCredit |= pool.creditStarved;
        pool.reclaimForIdleWorkers();
    }

    private boolean anyHeadStarvedOfCredit() {
        for (TaskQueue.Level level : queue.levels.values()) {
            for (TaskQueue.SessionQueue q : level.ring) {
                for (TaskQueue.Lane l : q.lanes.values()) {
                    if (pool.starvedOfCredit(l.head(), l.demand)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** Process tasks hold no slot: each goes where {@link WorkerPool#forProcess} finds room now. */
    private void dispatchProcesses() {
        for (Iterator<Task> it = queue.processQueue.iterator(); it.hasNext(); ) {
            Task t = it.next();
            if (t.state != TaskState.QUEUED) {
                it.remove();
                continue;
            }
            WorkerNode best = pool.forProcess(t.demand);
            if (best != null) {
                it.remove();
                pool.assign(t, best);
            }
        }
    }

    // ---- queries

    /** The recorded transitions of a task, oldest first (bounded: old entries are forgotten). */
    public List<String> story(long taskKey) {
        return ledger.story(taskKey);
    }

    /** The session of a task on a worker (assigned or running), or null: who that worker acts for. */
    public String sessionOfTaskOnWorker(long taskKey) {
        Task t = pool.onWorkers.get(taskKey);
        return t == null ? null : t.session.id;
    }

    public long queuedCount() {
        return ledger.queued;
    }

    /** Tasks assigned or running. */
    public long runningCount() {
        return ledger.running;
    }

    /** Tasks that ended in any way. */
    public long completedCount() {
        return ledger.completed;
    }

    public StatusResponse status() {
        StatusResponse.Builder b = StatusResponse.newBuilder()
                .setQueuedTasks(ledger.queued).setRunningTasks(ledger.running).setCompletedTasks(ledger.completed)
                .setFunctionDefinitions(sessions.functions());
        pool.addStatus(b);
        return b.build();
    }

    /**
     * Checks every invariant; throws IllegalStateException naming the first broken one. Each
     * part checks its own books; here, what ties them together.
     */
    public void validate() {
        long unanswered = sessions.validate();
        long q = 0;
        for (ClientSession s : sessions.all()) {
            q += queue.validate(s);
        }
        queue.validate();
        for (TaskQueue.Level level : queue.levels.values()) {
            for (TaskQueue.SessionQueue sq : level.ring) {
                check(sessions.byId(sq.session.id) == sq.session, "queue of a closed session");
            }
        }
        long r = pool.validate();
        long suspectsQueued = 0;
        for (ClientSession s : sessions.all()) {
            for (Task t : s.live.values()) {
                suspectsQueued += t.state == TaskState.QUEUED && t.suspect() ? 1 : 0;
            }
        }
        check(suspectsQueued == ledger.queuedSuspects, "queued suspect counter " + ledger.queuedSuspects
                + " but " + suspectsQueued);
        check(q == ledger.queued, "queued counter " + ledger.queued + " but " + q + " queued");
        unanswered += pool.onWorkers.values().stream().filter(t -> t.session.closed && t.session.live.get(t.taskId) == t)
                .mapToLong(t -> t.bytes).sum();   // a closed session's tasks still running
        check(unanswered == sessions.taskBytes, "task bytes counter " + sessions.taskBytes + " but " + unanswered
                + " unanswered");
        check(r == ledger.running, "running counter " + ledger.running + " but " + r + " on workers");
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("invariant broken: " + what);
        }
    }

    private static String hex(ByteString bytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(bytes.size(), 8); i++) {
            sb.append(String.format("%02x", bytes.byteAt(i)));
        }
        return sb.append(bytes.size() > 8 ? "..." : "").toString();
    }
}
