package io.cohort.coordinator.core;

import com.google.protobuf.ByteString;
import io.cohort.common.Digests;
import io.cohort.common.Protocol;
import io.cohort.common.TaskErrors;
import io.cohort.coordinator.core.Command.CloseCode;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskProcessOutput;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStarted;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerProcessOutput;
import io.cohort.proto.v1.WorkerStatus;
import io.cohort.proto.v1.WorkerStatusState;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The coordinator's scheduling state machine: sessions, tasks and workers, with no I/O, no
 * threads and no clock of its own ({@link Event.Tick} brings the time).
 *
 * <p>Not thread-safe: one thread calls {@link #apply} for each event, then {@link #dispatch}
 * once for the batch. {@link #handle} does both for one event (tests).
 *
 * <p>Design notes for maintainers:
 * <ul>
 *   <li>Queue: priority levels (highest first), each a round-robin ring of per-session queues,
 *       each a few FIFO lanes, one per distinct {@link Demand}. A lane whose head cannot be
 *       placed holds only tasks that cannot be placed either, so nothing else is blocked; the
 *       common lane (no demand) takes the least loaded worker from a sorted set in O(log W).
 *   <li>Removal from a lane is lazy: a cancelled task stays in its deque, no longer QUEUED,
 *       and is skipped when it reaches the head; {@code Lane.live} counts the rest.
 *   <li>Only tasks on a worker sit in {@code onWorkers} by key; queued ones are reachable from
 *       their session and lane only, to keep per-task memory small.
 *   <li>Placement timeout is per lane: once attached workers that could never run the lane's
 *       demand have been all there was for the timeout in total (the clock pauses while no worker
 *       is attached and restarts when a fitting one is seen), the lane's queued tasks are rejected.
 * </ul>
 */
public final class Scheduler {
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());
    static final String WORKER_LOST_CLASS = "io.cohort.client.WorkerLostException";
    static final String COHORT_EXCEPTION_CLASS = "io.cohort.client.CohortException";
    static final String CANCELLATION_CLASS = "java.util.concurrent.CancellationException";
    /** A budget refused the task: the client's submit failed as an executor's does when it is full. */
    static final String REJECTED_EXECUTION_CLASS = "java.util.concurrent.RejectedExecutionException";
    private static final int LOST_WORKERS_KEPT = 100;
    private static final int STORY_ENTRIES = 1 << 16;
    private static final int WORKERS_IN_MESSAGES = 10;
    /** Adaptive prefetch: estimated work a worker may hold queued beyond its base credit, per slot. */
    static final long PREFETCH_BUDGET_NANOS = 2_000_000;
    /** Adaptive prefetch: task bytes a worker may hold before it is sent no task beyond its base credit. */
    static final long PREFETCH_BYTES = 8L << 20;


    private final long heartbeatTimeoutMs;
    private final long placementTimeoutMs;
    /** How long a session whose stream broke waits to be resumed; 0: it ends at once. */
    private final long sessionGraceMs;
    /** Whether to make {@link Command.ToJournal} records. */
    private final boolean journaling;
    /** What sessions may hold here; see {@link Budgets}. */
    private final Budgets budgets;
    /** Random bits for session ids (unguessable in a server: whoever holds an id owns the session). */
    private final LongSupplier sessionIdBits;
    private final Story story = new Story(STORY_ENTRIES);
    private final RunTimes runTimes = new RunTimes();
    /** Prefetched tasks asked back for idle workers. */
    private final Reclaims reclaims = new Reclaims();
    private Transitions transitions = Transitions.NONE;

    /** Sessions with a stream, by stream. */
    private final Map<Long, Session> sessions = new HashMap<>();
    /** Every open session (with a stream or waiting to be resumed), by id. */
    private final Map<String, Session> sessionsById = new HashMap<>();
    /** Sessions waiting to be resumed, oldest first. */
    private final LinkedHashMap<String, Session> detached = new LinkedHashMap<>();
    private final Map<Long, WorkerNode> workersByStream = new HashMap<>();
    /** Attached workers in attach order. */
    private final Map<String, WorkerNode> workers = new LinkedHashMap<>();
    /** Accepting workers with credit, least loaded first. Remove before changing a worker's load. */
    private final TreeSet<WorkerNode> available = new TreeSet<>(Placement.LEAST_LOADED);
    /** Workers kept from new tasks until they are empty, for a queued suspect (see emptyWorker). */
    private final Set<WorkerNode> reserved = new LinkedHashSet<>(2);
    /** Recently lost workers, oldest first. */
    private final LinkedHashMap<String, WorkerStatus> lost = new LinkedHashMap<>();
    private final Map<Long, Task> onWorkers = new HashMap<>();
    private final TreeMap<Integer, Level> levels = new TreeMap<>(Comparator.reverseOrder());
    private final Set<Lane> constrainedLanes = new LinkedHashSet<>();
    /** Queued process tasks (TaskSpec.process), FIFO; ones no longer QUEUED are skipped lazily. */
    private final ArrayDeque<Task> processQueue = new ArrayDeque<>();

    private long now;
    /** Encoded bytes of all unanswered tasks (what {@link Budgets#taskBytes} bounds). */
    private long taskBytes;
    private long nextTaskKey = 1;
    private long nextWorkerNumber = 1;
    private long queued;
    /** Queued slot tasks that were running when a worker was lost (they run alone: see emptyWorker). */
    private long queuedSuspects;
    private long running;
    private long completed;
    /** Something that may allow an assignment changed since the last dispatch. */
    private boolean dirty;
    /**
     * A queued task that may not use adaptive prefetch found no worker for want of base credit,
     * in this dispatch ({@code creditStarved}) or an earlier one ({@code holdExtendedCredit},
     * checked again at each dispatch): until it is placed, nobody is sent tasks beyond base
     * credit, so deep queues of short tasks drain and cannot starve it.
     */
    private boolean creditStarved;
    private boolean holdExtendedCredit;
    private Consumer<Command> out;
    /** Commands made while recovering sessions, before any sink: handed to the first {@link #apply}. */
    private final List<Command> deferred = new ArrayList<>(0);
    /** Definitions no task uses that a session keeps (more are dropped, longest idle first). */
    private int idleFunctionsPerSession = DEFAULT_IDLE_FUNCTIONS_PER_SESSION;
    static final int DEFAULT_IDLE_FUNCTIONS_PER_SESSION = 1024;
    /** Definitions no task on it uses that a worker is left with; beyond, it is told to forget the longest idle. */
    static final int IDLE_FUNCTIONS_PER_WORKER = 256;

    public Scheduler(long heartbeatTimeoutMs, long placementTimeoutMs) {
        this(heartbeatTimeoutMs, placementTimeoutMs, 0, false);
    }

    public Scheduler(long heartbeatTimeoutMs, long placementTimeoutMs, long sessionGraceMs, boolean journaling) {
        this(heartbeatTimeoutMs, placementTimeoutMs, sessionGraceMs, journaling, Integer.MAX_VALUE);
    }

    public Scheduler(long heartbeatTimeoutMs, long placementTimeoutMs, long sessionGraceMs, boolean journaling,
                     int maxTasksPerSession) {
        this(heartbeatTimeoutMs, placementTimeoutMs, sessionGraceMs, journaling,
                Budgets.NONE.withTasksPerClient(maxTasksPerSession), new java.security.SecureRandom()::nextLong);
    }

    /** {@code sessionIdBits}: where session ids come from; a server gives a SecureRandom's. */
    public Scheduler(long heartbeatTimeoutMs, long placementTimeoutMs, long sessionGraceMs, boolean journaling,
                     Budgets budgets, LongSupplier sessionIdBits) {
        if (heartbeatTimeoutMs <= 0 || placementTimeoutMs <= 0 || sessionGraceMs < 0) {
            throw new IllegalArgumentException("timeouts must be positive");
        }
        this.budgets = budgets;
        this.sessionIdBits = sessionIdBits;
        this.heartbeatTimeoutMs = heartbeatTimeoutMs;
        this.placementTimeoutMs = placementTimeoutMs;
        this.sessionGraceMs = sessionGraceMs;
        this.journaling = journaling;
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
        this.idleFunctionsPerSession = perSession;
    }

    /** Sets the one listener told of every task transition (metrics, the dashboard); call before the first event. */
    public void onTransition(Transitions listener) {
        transitions = listener;
    }

    /** Function definitions a session holds now (tests, status). */
    public int functionsOf(String sessionId) {
        Session s = sessionsById.get(sessionId);
        return s == null ? 0 : s.functions.size();
    }

    /** Function definitions a worker holds now, as far as this scheduler knows (tests). */
    public int functionsOnWorker(String workerId) {
        WorkerNode w = workers.get(workerId);
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
        out = sink;
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
            WorkerNode w = workersByStream.get(e.stream());
            if (w != null) {
                w.lastHeard = now;
            }
        } else if (event instanceof Event.CancelRequested e) {
            cancel(e.stream(), e.taskId(), e.interrupt(), e.signal());
        } else if (event instanceof Event.ProcessOutputReported e) {
            forwardOutput(e.stream(), e.output());
        } else if (event instanceof Event.FunctionsDefined e) {
            defineFunctions(e.stream(), e.functions());
        } else if (event instanceof Event.SessionOpened e) {
            openSession(e);
        } else if (event instanceof Event.SessionClosed e) {
            Session s = sessions.get(e.stream());
            if (s != null) {
                closeSession(s);
            }
        } else if (event instanceof Event.SessionLost e) {
            Session s = sessions.get(e.stream());
            if (s != null && sessionGraceMs > 0) {
                detach(s);
            } else if (s != null) {
                closeSession(s);
            }
        } else if (event instanceof Event.SessionBackedUp e) {
            Session s = sessions.get(e.stream());
            if (s != null && s.backedUp != e.backedUp()) {
                s.backedUp = e.backedUp();
                dirty |= !e.backedUp();
            }
        } else if (event instanceof Event.WorkerAttached e) {
            attach(e);
        } else if (event instanceof Event.WorkerLost e) {
            WorkerNode w = workersByStream.get(e.stream());
            if (w != null) {
                loseWorker(w, e.reason());
            }
        } else if (event instanceof Event.WorkerDraining e) {
            WorkerNode w = workersByStream.get(e.stream());
            if (w != null) {
                drain(w);
            }
        } else if (event instanceof Event.AdminDrain e) {
            WorkerNode w = workers.get(e.workerId());
            if (w != null) {
                drain(w);
            }
            out.accept(new Command.DrainAnswer(e.requestId(), w != null));
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
        Session s = e.resumeId().isEmpty() ? null : sessionsById.get(e.resumeId());
        if (s == null) {
            if (!roomForASession()) {
                out.accept(new Command.CloseStream(e.stream(), CloseCode.RESOURCE_EXHAUSTED, "the coordinator has "
                        + sessionsById.size() + " open sessions, its limit (--max-sessions): try again later"));
                return;
            }
            s = new Session(e.stream(), newSessionId(), e.clientName(), idleFunctionsPerSession);
            sessions.put(e.stream(), s);
            sessionsById.put(s.id, s);
            out.accept(welcome(s, false));
            if (journaling) {
                out.accept(new Command.JournalSession(s.id, s.clientName));
            }
            return;
        }
        if (s.attached()) {
            // The client saw its old stream break before we did: the new one takes over.
            out.accept(new Command.CloseStream(s.stream, CloseCode.ABORTED, "session " + s.id + " was resumed on another stream"));
            detach(s);
        }
        detached.remove(s.id);
        s.stream = e.stream();
        s.resumed = true;
        sessions.put(s.stream, s);
        out.accept(welcome(s, true));
        for (TaskResult r : s.held) {
            s.answeredOnResume.add(r.getTaskId());
            out.accept(new Command.SendResult(s.stream, r));
            if (journaling) {
                out.accept(new Command.JournalForget(s.id, r.getTaskId()));
            }
        }
        s.held.clear();
        s.heldBytes = 0;
        dirty = true;   // its queued tasks may start again
        for (Task t : s.live.values()) {
            if (t.state == TaskState.RUNNING) {
                out.accept(new Command.NotifyStarted(s.stream,
                        TaskStarted.newBuilder().setTaskId(t.taskId).setWorkerId(t.worker.id).build()));
            }
        }
        LOG.log(System.Logger.Level.INFO, "session {0} resumed: {1} tasks unanswered, {2} held results sent",
                s.id, s.live.size(), s.answeredOnResume.size());
    }

    private Command.WelcomeClient welcome(Session s, boolean resumed) {
        return new Command.WelcomeClient(s.stream, s.id, resumed, budgets.tasksPerClient(), budgets.taskBytesPerClient());
    }

    /**
     * Whether one more session may open. At the limit, the oldest session waiting to be resumed
     * with nothing unanswered and nothing held is ended to make room: its client lost nothing
     * (a resume finds the session gone and opens a new one), while a flood of abandoned
     * sessions would otherwise lock every new client out.
     */
    private boolean roomForASession() {
        if (sessionsById.size() < budgets.sessions()) {
            return true;
        }
        for (Session old : detached.values()) {
            if (old.live.isEmpty() && old.held.isEmpty()) {
                LOG.log(System.Logger.Level.INFO, "session {0} ended early: an empty session waiting to be resumed,"
                        + " and the coordinator is at its limit of sessions (--max-sessions)", old.id);
                closeSession(old);
                return true;
            }
        }
        return false;
    }

    /** Random: a session's id is all a client needs to take it up again. */
    private String newSessionId() {
        String id;
        do {
            id = "s-" + Long.toUnsignedString(sessionIdBits.getAsLong(), 36)
                    + Long.toUnsignedString(sessionIdBits.getAsLong(), 36);
        } while (sessionsById.containsKey(id));
        return id;
    }

    /** The session's stream is gone: its tasks carry on and its results are held, for the grace period. */
    private void detach(Session s) {
        sessions.remove(s.stream);
        s.stream = Session.DETACHED;
        s.backedUp = false;   // held results count instead, until a new stream reads them
        s.detachedAt = now;
        s.answeredOnResume.clear();
        detached.put(s.id, s);
    }

    /**
     * Takes up a session from the journal of an earlier run, waiting to be resumed: its tasks
     * are queued again and its held results kept for the client.
     */
    public void recoverSession(String id, String clientName, List<FunctionDef> functions,
                               List<Event.TaskSubmitted> tasks, List<TaskResult> held) {
        Session s = new Session(Session.DETACHED, id, clientName, idleFunctionsPerSession);
        s.detachedAt = now;
        sessionsById.put(id, s);
        detached.put(id, s);
        Map<ByteString, FunctionDef> recovered = new HashMap<>();
        for (FunctionDef f : functions) {
            recovered.put(f.getDigest(), f);
        }
        // Journal records of definitions dropped here go with the first batch the scheduler handles.
        Consumer<ByteString> dropped = digest -> deferred.add(new Command.JournalForgetFunction(s.id, digest));
        for (TaskResult r : held) {
            hold(s, r);
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
            admit(t);   // over a budget or not: it was accepted before the restart
            if (function != null) {
                s.functions.use(function.getDigest());
            }
            move(t, TaskState.QUEUED, "recovered from the journal", null);
            enqueue(t, false);
        }
        for (FunctionDef f : functions) {   // the unused ones, within the cap
            s.functions.define(f, dropped);
        }
    }

    private void defineFunctions(long stream, List<FunctionDef> functions) {
        Session s = sessions.get(stream);
        if (s == null) {
            return;
        }
        for (FunctionDef f : functions) {
            if (!Digests.sha256(f.getBody()).equals(f.getDigest())) {
                violation(stream, "function digest " + hex(f.getDigest()) + " is not the SHA-256 of its body");
                return;
            }
            if (s.functions.define(f, digest -> forgetFunction(s, digest)) && journaling) {
                out.accept(new Command.JournalFunction(s.id, f));
            }
        }
    }

    /** A session's definition no task used was dropped: its journal record goes too. */
    private void forgetFunction(Session s, ByteString digest) {
        if (journaling && !s.closed) {
            out.accept(new Command.JournalForgetFunction(s.id, digest));
        }
    }

    private void submit(Event.TaskSubmitted e) {
        Session s = sessions.get(e.stream());
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
                        + idleFunctionsPerSession + " unused definitions, --max-idle-functions-per-client)";
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
        String overBudget = problem == null ? overBudget(s, t) : null;
        if (problem != null || overBudget != null) {
            move(t, TaskState.REJECTED, "invalid", null);
            TaskResult.Builder rejected = TaskResult.newBuilder().setStatus(TaskStatus.REJECTED).setError(TaskErrors.plain(
                    problem != null ? COHORT_EXCEPTION_CLASS : REJECTED_EXECUTION_CLASS,
                    describe(t) + " was rejected: " + (problem != null ? problem : overBudget), ""));
            if (undefined != null) {
                rejected.setUndefinedFunction(undefined);
            }
            send(t, rejected);
            return;
        }
        admit(t);
        if (function != null) {
            s.functions.use(function.getDigest());
        }
        move(t, TaskState.QUEUED, "submitted", null);
        enqueue(t, false);
        if (journaling) {
            out.accept(new Command.JournalTask(s.id, t.taskId, spec, policy));
        }
    }

    /** Why {@code t} would take its session or the coordinator past a budget; null if it would not. */
    private String overBudget(Session s, Task t) {
        if (s.live.size() >= budgets.tasksPerClient()) {
            return "this session already has " + s.live.size() + " unanswered tasks, the coordinator's limit"
                    + " (--max-tasks-per-client); ClientConfig.maxInFlight makes submit wait for room instead";
        }
        if (s.taskBytes + t.bytes > budgets.taskBytesPerClient()) {
            return "its " + t.bytes + " bytes would take this session's unanswered tasks to " + (s.taskBytes + t.bytes)
                    + " bytes, past the coordinator's budget of " + budgets.taskBytesPerClient()
                    + " bytes per client (--max-task-bytes-per-client)";
        }
        if (taskBytes + t.bytes > budgets.taskBytes()) {
            return "the coordinator holds " + taskBytes + " bytes of unanswered tasks and its budget is "
                    + budgets.taskBytes() + " bytes (--max-task-bytes): try again when some have finished";
        }
        return null;
    }

    /** Makes {@code t} one of its session's unanswered tasks, counting its bytes. */
    private void admit(Task t) {
        t.session.live.put(t.taskId, t);
        t.session.taskBytes += t.bytes;
        taskBytes += t.bytes;
    }

    private void cancel(long stream, long taskId, boolean interrupt, int signal) {
        Session s = sessions.get(stream);
        Task t = s == null ? null : s.live.get(taskId);
        if (t == null) {
            return;
        }
        if (t.state == TaskState.QUEUED) {
            unqueue(t);
            end(t, TaskState.CANCELLED, "cancelled", TaskResult.newBuilder().setStatus(TaskStatus.CANCELLED)
                    .setError(TaskErrors.plain(CANCELLATION_CLASS, describe(t) + " was cancelled before it started", "")));
        } else if (t.state.onWorker()) {
            t.cancelRequested = true;
            t.cancelInterrupt |= interrupt || signal != 0;
            cancelOnWorker(t, interrupt || signal != 0, signal);
        }
    }

    private void closeSession(Session s) {
        if (s.attached()) {
            sessions.remove(s.stream);
        }
        sessionsById.remove(s.id);
        detached.remove(s.id);
        s.closed = true;
        s.held.clear();
        s.heldBytes = 0;
        out.accept(new Command.SessionEnded(s.id));
        for (SessionQueue q : new ArrayList<>(s.queues.values())) {
            for (Lane lane : new ArrayList<>(q.lanes.values())) {
                dropLane(lane);
            }
        }
        for (Task t : new ArrayList<>(s.live.values())) {
            if (t.state == TaskState.QUEUED) {
                end(t, TaskState.CANCELLED, "session closed", null);
            } else {
                // Its result will be dropped (the session is closed) when the worker answers.
                t.cancelRequested = true;
                t.cancelInterrupt = true;
                cancelOnWorker(t, true, 0);
            }
        }
    }

    /** Closes the stream with INVALID_ARGUMENT and forgets it. */
    private void violation(long stream, String message) {
        Session s = sessions.get(stream);
        if (s != null) {
            out.accept(new Command.CloseStream(stream, CloseCode.INVALID_ARGUMENT, message));
            closeSession(s);
        } else {
            WorkerNode w = workersByStream.get(stream);
            if (w != null) {
                out.accept(new Command.CloseStream(stream, CloseCode.INVALID_ARGUMENT, message));
                loseWorker(w, "protocol violation: " + message);
            }
        }
    }

    // ---- workers

    private void attach(Event.WorkerAttached e) {
        if (workersByStream.containsKey(e.stream())) {
            return;
        }
        String problem = null;
        if (e.slots() < 1) {
            problem = "a worker needs at least 1 slot, not " + Integer.toUnsignedString(e.slots());
        } else if (e.prefetch() < 0) {
            problem = "prefetch is too large: " + Integer.toUnsignedString(e.prefetch());
        } else if ((long) e.slots() + e.prefetch() > Integer.MAX_VALUE) {
            // its credit would overflow to a negative number: attached, but never sent a task
            problem = "slots + prefetch is too large: " + e.slots() + " + " + e.prefetch();
        } else if (e.maxPrefetch() < 0 || (long) e.slots() + e.maxPrefetch() > Integer.MAX_VALUE) {
            problem = "slots + max_prefetch is too large: " + e.slots() + " + " + Integer.toUnsignedString(e.maxPrefetch());
        } else {
            for (Map.Entry<String, Double> r : e.resources().entrySet()) {
                if (!(r.getValue() >= 0) || r.getValue().isInfinite()) {
                    problem = "resource " + r.getKey() + " must be a finite amount >= 0, not " + r.getValue();
                }
            }
        }
        if (problem != null) {
            out.accept(new Command.CloseStream(e.stream(), CloseCode.INVALID_ARGUMENT, problem));
            return;
        }
        String id = e.requestedId();
        if (id.isEmpty()) {
            do {
                id = "w-" + nextWorkerNumber++;
            } while (workers.containsKey(id) || lost.containsKey(id));
        } else if (workers.containsKey(id)) {
            out.accept(new Command.CloseStream(e.stream(), CloseCode.ALREADY_EXISTS,
                    "a worker with id " + id + " is already attached"));
            return;
        }
        lost.remove(id);
        WorkerNode w = new WorkerNode(e.stream(), id, e, now);
        workersByStream.put(w.stream, w);
        workers.put(id, w);
        out.accept(new Command.WelcomeWorker(w.stream, id, (int) Math.min(Integer.MAX_VALUE, heartbeatTimeoutMs)));
        if (offers(w)) {
            available.add(w);
            dirty = true;
        }
        LOG.log(System.Logger.Level.DEBUG, "worker {0} attached: {1} slots", id, w.slots);
    }

    private void drain(WorkerNode w) {
        if (!w.draining) {
            available.remove(w);
            w.draining = true;
            unreserve(w);
        }
    }

    private void unreserve(WorkerNode w) {
        if (reserved.remove(w)) {
            w.reserved = false;
            if (offers(w)) {
                available.add(w);
                dirty = true;
            }
        }
    }

    private void loseWorker(WorkerNode w, String reason) {
        LOG.log(System.Logger.Level.INFO, "worker {0} lost: {1}", w.id, reason);
        available.remove(w);
        reserved.remove(w);
        w.lost = true;
        workersByStream.remove(w.stream);
        workers.remove(w.id);
        List<Task> tasks = new ArrayList<>(w.unfinished);
        // Backwards, since each goes to the front of its lane: they keep their order.
        for (int i = tasks.size() - 1; i >= 0; i--) {
            Task t = tasks.get(i);
            boolean started = t.state == TaskState.RUNNING;
            release(t);
            if (started) {
                t.losses++;
                if (t.lostOn == null) {
                    t.lostOn = new ArrayList<>(2);
                }
                t.lostOn.add(w.id);
            }
            requeueOrEnd(t, started, "worker lost");
        }
        lost.put(w.id, w.status(WorkerStatusState.LOST));
        if (lost.size() > LOST_WORKERS_KEPT) {
            lost.remove(lost.keySet().iterator().next());
        }
    }

    private void tick(long nowMillis) {
        now = nowMillis;
        while (!detached.isEmpty()) {
            Session s = detached.values().iterator().next();
            if (now - s.detachedAt < sessionGraceMs) {
                break;
            }
            LOG.log(System.Logger.Level.INFO, "session {0} was not resumed within {1} ms and ends", s.id, sessionGraceMs);
            closeSession(s);
        }
        for (WorkerNode w : new ArrayList<>(workers.values())) {
            if (now - w.lastHeard >= heartbeatTimeoutMs) {
                out.accept(new Command.CloseStream(w.stream, CloseCode.UNAVAILABLE, "worker " + w.id
                        + " sent nothing for " + (now - w.lastHeard) + " ms and is declared lost"));
                loseWorker(w, "heartbeat timeout");
            }
        }
        for (Lane lane : new ArrayList<>(constrainedLanes)) {
            if (lane.unfit.expired(workers.isEmpty(), fitsSomeWorker(lane.demand), now, placementTimeoutMs)) {
                rejectLane(lane);
            }
        }
        for (Task t : new ArrayList<>(processQueue)) {
            if (t.state == TaskState.QUEUED && !t.demand.isNone()
                    && t.unfit.expired(workers.isEmpty(), fitsSomeWorker(t.demand), now, placementTimeoutMs)) {
                rejectUnplaceable(t, offers());
            }
        }
        if (running > 0 && Reclaims.anyIdle(available)) {
            dirty = true;   // a task holding a slot may have run long enough for what waits behind it to move
        }
    }

    private boolean fitsSomeWorker(Demand demand) {
        return workers.values().stream().anyMatch(w -> w.accepting() && Placement.fitsEver(demand, w));
    }

    private void rejectLane(Lane lane) {
        String offers = offers();
        for (Task t : new ArrayList<>(lane.tasks)) {
            if (t.state == TaskState.QUEUED) {
                rejectUnplaceable(t, offers);
            }
        }
        dropLane(lane);
    }

    private void rejectUnplaceable(Task t, String offers) {
        end(t, TaskState.REJECTED, "placement timeout", TaskResult.newBuilder().setStatus(TaskStatus.REJECTED)
                .setError(TaskErrors.plain(COHORT_EXCEPTION_CLASS, describe(t) + " asks for " + t.demand
                        + ", which no attached worker offered within the placement timeout of "
                        + placementTimeoutMs + " ms; attached workers: " + offers, "")));
    }

    /** What the attached workers offer, for a rejection's message. */
    private String offers() {
        StringBuilder offers = new StringBuilder();
        int shown = 0;
        for (WorkerNode w : workers.values()) {
            if (shown++ == WORKERS_IN_MESSAGES) {
                offers.append("; ...");
                break;
            }
            offers.append(shown > 1 ? "; " : "").append(w.id).append(w.draining ? " (draining)" : "")
                    .append(" offers resources ").append(new TreeMap<>(w.totals)).append(" and labels ")
                    .append(new TreeSet<>(w.labels));
        }
        return offers.toString();
    }

    // ---- tasks on workers

    /** The task this worker message is about, or null (logged) when it is stale; {@code detail} may be null. */
    private Task taskOn(long stream, long taskKey, int attempt, String what, Object detail) {
        WorkerNode w = workersByStream.get(stream);
        Task t = onWorkers.get(taskKey);
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
        move(t, TaskState.RUNNING, "started", null);
        t.since = now;
        t.worker.progressAt = t.isProcess() ? t.worker.progressAt : now;
        reclaimAnswered(t);   // the worker ignores the order: it runs the task
        t.worker.runningCount += t.isProcess() ? 0 : 1;   // busy slots: a process holds none
        if (t.session.attached()) {
            out.accept(new Command.NotifyStarted(t.session.stream,
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
        release(t);
        if ((r.getStatus() == TaskStatus.SUCCEEDED || r.getStatus() == TaskStatus.FAILED) && !t.spec.getChunk()) {
            runTimes.observe(runTimeOf(t), r.getRunNanos());
        }
        TaskState to;
        switch (returned ? TaskStatus.RETURNED : r.getStatus()) {
            case RETURNED -> {
                requeueOrEnd(t, false, "returned");
                return;
            }
            case WORKER_LOST -> {
                // A child JVM of the worker died under the task: one lost attempt, as if the worker was lost.
                if (t.state == TaskState.ASSIGNED) {
                    move(t, TaskState.RUNNING, "started (its loss says so)", t.worker.id);   // its started report may be stale
                }
                t.losses++;
                if (t.lostOn == null) {
                    t.lostOn = new ArrayList<>(2);
                }
                t.lostOn.add(t.worker.id + " (" + (r.hasError() ? r.getError().getMessage() : "a child JVM died") + ")");
                requeueOrEnd(t, true, "child JVM lost");
                return;
            }
            case SUCCEEDED -> to = TaskState.SUCCEEDED;
            case FAILED -> to = TaskState.FAILED;
            case CANCELLED -> to = TaskState.CANCELLED;
            case TIMED_OUT -> to = TaskState.TIMED_OUT;
            default -> {
                end(t, TaskState.FAILED, "bad status", TaskResult.newBuilder().setStatus(TaskStatus.FAILED)
                        .setError(TaskErrors.plain(COHORT_EXCEPTION_CLASS, "worker " + t.worker.id
                                + " reported an invalid status " + r.getStatusValue() + " for " + describe(t), t.worker.id)));
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
        end(t, to, "result", b);
    }

    /** After a task left its worker without a result: queue it again unless it must end. */
    private void requeueOrEnd(Task t, boolean countedLoss, String why) {
        if (t.session.closed) {
            end(t, TaskState.CANCELLED, "session closed", null);
        } else if (t.cancelRequested && (t.state == TaskState.ASSIGNED || t.cancelInterrupt)) {
            end(t, TaskState.CANCELLED, why, TaskResult.newBuilder().setStatus(TaskStatus.CANCELLED)
                    .setError(TaskErrors.plain(CANCELLATION_CLASS, describe(t) + " was cancelled", "")));
        } else if (countedLoss && t.losses > t.maxRetries()) {
            end(t, TaskState.WORKER_LOST, why, TaskResult.newBuilder().setStatus(TaskStatus.WORKER_LOST)
                    .setError(TaskErrors.plain(WORKER_LOST_CLASS, describe(t) + " was running on a worker that was lost "
                            + t.losses + (t.losses == 1 ? " time" : " times") + " (workers " + String.join(", ", t.lostOn)
                            + "); max_retries is " + t.maxRetries(), t.worker.id)));
        } else {
            move(t, TaskState.QUEUED, why, null);
            enqueue(t, true);
        }
    }

    private void cancelOnWorker(Task t, boolean interrupt, int signal) {
        out.accept(new Command.CancelOrder(t.worker.stream, t.worker.id, TaskCancelOrder.newBuilder()
                .setTaskKey(t.key).setAttempt(t.attempt).setInterrupt(interrupt).setSignal(signal).build()));
    }

    /** Asks back tasks prefetched behind long-running ones, for workers the queue leaves idle (see {@link Reclaims}). */
    private void reclaimForIdleWorkers() {
        for (Task t : reclaims.choose(workers.values(), available, this::estimateNanos, now)) {
            t.reclaimAsked = true;
            reclaims.asked();
            LOG.log(System.Logger.Level.DEBUG, "asking worker {0} to hand back task key {1} for an idle worker",
                    t.worker.id, Long.toUnsignedString(t.key));
            out.accept(new Command.CancelOrder(t.worker.stream, t.worker.id, TaskCancelOrder.newBuilder()
                    .setTaskKey(t.key).setAttempt(t.attempt).setReclaim(true).build()));
        }
    }

    /** The task started or left its worker: a reclaim of it, if asked, is answered. */
    private void reclaimAnswered(Task t) {
        if (t.reclaimAsked) {
            t.reclaimAsked = false;
            reclaims.answered();
        }
    }

    private long estimateNanos(Task t) {
        return t.spec.getChunk() ? 0 : runTimeOf(t).nanos();
    }

    /** Straight to the task's session; nothing changes here. */
    private void forwardOutput(long stream, WorkerProcessOutput o) {
        Task t = taskOn(stream, o.getTaskKey(), o.getAttempt(), "process output", null);
        if (t != null && t.session.attached()) {
            out.accept(new Command.ForwardOutput(t.session.stream, TaskProcessOutput.newBuilder()
                    .setTaskId(t.taskId).setOutput(o.getOutput()).build()));
        }
    }

    // ---- queue

    private void enqueue(Task t, boolean front) {
        if (t.isProcess()) {
            if (front) {
                processQueue.addFirst(t);
            } else {
                processQueue.addLast(t);
            }
            dirty = true;
            return;
        }
        Session s = t.session;
        int priority = t.policy.getPriority();
        SessionQueue q = s.queues.get(priority);
        if (q == null) {
            Level level = levels.computeIfAbsent(priority, Level::new);
            q = new SessionQueue(s, level);
            level.ring.addLast(q);
            s.queues.put(priority, q);
        }
        Lane lane = q.lanes.get(t.demand);
        if (lane == null) {
            lane = new Lane(q, t.demand);
            q.lanes.put(t.demand, lane);
            if (!t.demand.isNone()) {
                constrainedLanes.add(lane);
            }
        }
        if (front) {
            lane.tasks.addFirst(t);
        } else {
            lane.tasks.addLast(t);
        }
        lane.live++;
        dirty = true;
    }

    /** Takes a QUEUED task out of its lane (lazily: it is skipped once no longer QUEUED). */
    private void unqueue(Task t) {
        if (t.isProcess()) {
            return;   // skipped lazily in processQueue
        }
        SessionQueue q = t.session.queues.get(t.policy.getPriority());
        Lane lane = q.lanes.get(t.demand);
        if (--lane.live == 0) {
            dropLane(lane);
        }
    }

    private void dropLane(Lane lane) {
        SessionQueue q = lane.queue;
        q.lanes.remove(lane.demand);
        constrainedLanes.remove(lane);
        if (q.lanes.isEmpty()) {
            q.level.ring.remove(q);
            q.session.queues.remove(q.level.priority);
            if (q.level.ring.isEmpty()) {
                levels.remove(q.level.priority);
            }
        }
    }

    /** Assigns what can be assigned now: by priority, round-robin over sessions, FIFO in each. */
    public void dispatch(Consumer<Command> sink) {
        if (!dirty) {
            return;
        }
        dirty = false;
        out = sink;
        creditStarved = false;
        if (holdExtendedCredit) {
            holdExtendedCredit = anyHeadStarvedOfCredit();
        }
        if (queuedSuspects == 0 && !reserved.isEmpty()) {
            new ArrayList<>(reserved).forEach(this::unreserve);   // the suspects they waited for are gone
        }
        dispatchProcesses();
        for (Level level : new ArrayList<>(levels.values())) {
            int misses = 0;
            while (canPlace() && !level.ring.isEmpty() && misses < level.ring.size()) {
                SessionQueue q = level.ring.pollFirst();
                level.ring.addLast(q);
                if (q.session.backedUp || q.session.heldBytes >= budgets.heldBytesPerClient()) {
                    misses++;   // it is not taking its results: start no more of its tasks until it does
                    continue;
                }
                Lane lane = null;
                WorkerNode worker = null;
                Task head = null;
                for (Lane l : q.lanes.values()) {
                    Task h = l.head();
                    if (head != null && h.key > head.key) {
                        continue;
                    }
                    WorkerNode w = h.losses > 0 && !h.isProcess() ? emptyWorker(l.demand) : placeFor(h, l.demand);
                    if (w != null) {
                        lane = l;
                        worker = w;
                        head = h;
                    }
                }
                if (lane == null) {
                    misses++;
                    if (!creditStarved) {
                        creditStarved = q.lanes.values().stream().anyMatch(l -> starvedOfCredit(l.head(), l.demand));
                    }
                    continue;
                }
                misses = 0;
                lane.tasks.pollFirst();
                if (--lane.live == 0) {
                    dropLane(lane);
                }
                assign(head, worker);
            }
            if (!canPlace()) {
                break;
            }
        }
        holdExtendedCredit |= creditStarved;
        reclaimForIdleWorkers();
    }

    private boolean anyHeadStarvedOfCredit() {
        for (Level level : levels.values()) {
            for (SessionQueue q : level.ring) {
                for (Lane l : q.lanes.values()) {
                    if (starvedOfCredit(l.head(), l.demand)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** A task that may not use adaptive prefetch, which some accepting worker could take now but for its credit. */
    private boolean starvedOfCredit(Task head, Demand demand) {
        if (head.losses > 0 || mayPrefetchDeeply(head)) {
            return false;   // a suspect waits for an empty worker; a short task waits its turn
        }
        for (WorkerNode w : available) {
            if (Placement.fitsIgnoringCredit(demand, w)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The least loaded worker that may take the task now. The common lane's answer is usually
     * the first of {@code available}; it is not when that worker is past its base credit and
     * the task is not known to be short (see {@link #creditFor}).
     */
    private WorkerNode placeFor(Task t, Demand demand) {
        if (demand.isNone() && !available.isEmpty() && creditFor(t, available.first())) {
            return available.first();
        }
        for (WorkerNode w : available) {
            if (creditFor(t, w) && Placement.fitsIgnoringCredit(demand, w)) {
                return w;
            }
        }
        return null;
    }

    /**
     * Whether the worker's credit allows one more task like {@code t}. Within slots + prefetch
     * any task fits. Beyond it (adaptive prefetch, up to slots + max_prefetch) only a task whose
     * function has been seen to run briefly, and only while the estimated work queued there
     * stays within {@link #PREFETCH_BUDGET_NANOS} per slot and its tasks within
     * {@link #PREFETCH_BYTES}: a deep queue keeps a slot busy through the round trip when tasks
     * take microseconds, and would keep long tasks from idle workers.
     */
    private boolean creditFor(Task t, WorkerNode w) {
        if (w.credit() > 0) {
            return true;
        }
        if (w.capacity() <= 0 || holdExtendedCredit || creditStarved || !mayPrefetchDeeply(t)) {
            return false;
        }
        long estimate = runTimeOf(t).nanos();
        long queued = w.slotTasks + 1L - w.slots;
        return queued <= PREFETCH_BUDGET_NANOS * w.slots / estimate
                && w.heldBytes + t.spec.getSerializedSize() <= PREFETCH_BYTES;
    }

    /** Not a chunk, and of a function seen to run within a slot's prefetch budget. */
    private boolean mayPrefetchDeeply(Task t) {
        long estimate = t.spec.getChunk() ? 0 : runTimeOf(t).nanos();
        return estimate > 0 && estimate <= PREFETCH_BUDGET_NANOS;
    }

    private RunTimes.Estimate runTimeOf(Task t) {
        if (t.runTime == null) {
            t.runTime = runTimes.of(t.spec.getFunctionDigest());
        }
        return t.runTime;
    }

    /** Accepting and below its largest credit: a member of {@code available}. */
    private static boolean offers(WorkerNode w) {
        return w.accepting() && w.capacity() > 0;
    }

    /** Some worker has credit, or a reserved one is empty (for a suspect). */
    private boolean canPlace() {
        if (!available.isEmpty()) {
            return true;
        }
        for (WorkerNode w : reserved) {
            if (w.unfinished() == 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Where a suspect runs: a task that was running when a worker died goes only to a worker
     * with nothing else to do, and that worker takes nothing more until it ends. If it was the
     * task that killed its worker, it cannot take innocent tasks down with it again. When no
     * worker is empty, the least loaded one that could run it is reserved: it takes no new
     * tasks, so it empties even while other sessions keep every worker busy.
     */
    private WorkerNode emptyWorker(Demand demand) {
        for (WorkerNode w : reserved) {
            if (w.unfinished() == 0 && Placement.fitsIgnoringCredit(demand, w)) {   // its credit is held back for this
                return w;
            }
        }
        for (WorkerNode w : available) {
            if (w.unfinished() == 0 && Placement.fitsNow(demand, w)) {
                return w;
            }
        }
        for (WorkerNode w : reserved) {
            if (Placement.fitsEver(demand, w)) {
                return null;   // one is emptying for it already
            }
        }
        for (WorkerNode w : available) {
            if (w.suspects == 0 && Placement.fitsEver(demand, w)) {
                available.remove(w);
                w.reserved = true;
                reserved.add(w);
                return null;
            }
        }
        return null;
    }

    /**
     * Process tasks hold no slot: they go to the least loaded worker that carries their labels
     * and has their resources free now, whatever its credit.
     */
    private void dispatchProcesses() {
        for (Iterator<Task> it = processQueue.iterator(); it.hasNext(); ) {
            Task t = it.next();
            if (t.state != TaskState.QUEUED) {
                it.remove();
                continue;
            }
            WorkerNode best = null;
            for (WorkerNode w : workers.values()) {
                if (w.accepting() && Placement.fitsIgnoringCredit(t.demand, w)
                        && (best == null || Placement.LEAST_LOADED.compare(w, best) < 0)) {
                    best = w;
                }
            }
            if (best != null) {
                it.remove();
                assign(t, best);
            }
        }
    }

    private void assign(Task t, WorkerNode w) {
        available.remove(w);
        if (w.reserved) {
            reserved.remove(w);
            w.reserved = false;
        }
        t.attempt++;
        t.worker = w;
        t.since = now;
        move(t, TaskState.ASSIGNED, "assigned", w.id);
        w.unfinished.add(t);
        w.slotTasks += t.isProcess() ? 0 : 1;
        w.heldBytes += t.spec.getSerializedSize();
        t.suspectOnWorker = t.losses > 0 && !t.isProcess();
        w.suspects += t.suspectOnWorker ? 1 : 0;
        w.hold(t.demand);
        if (offers(w)) {
            available.add(w);
        }
        onWorkers.put(t.key, t);
        FunctionDef function = null;
        if (t.function != null) {
            if (w.sentFunctions.define(t.function, w.forgetNext::add)) {
                function = t.function;
            }
            w.sentFunctions.use(t.function.getDigest());
        }
        List<ByteString> forget = List.of();
        if (!w.forgetNext.isEmpty()) {   // the worker applies these before the function sent with them
            forget = List.copyOf(w.forgetNext);
            w.forgetNext.clear();
        }
        TaskAssign.Builder a = TaskAssign.newBuilder().setTaskKey(t.key).setAttempt(t.attempt).setSpec(t.spec)
                .setTimeoutMs(t.policy.getTimeoutMs()).setName(t.policy.getName());
        out.accept(new Command.Assign(w.stream, w.id, function, a.build(), forget));
    }

    /** Frees the task's place on its worker (the worker reference stays, for the result). */
    private void release(Task t) {
        WorkerNode w = t.worker;
        available.remove(w);
        w.unfinished.remove(t);
        w.slotTasks -= t.isProcess() ? 0 : 1;
        w.heldBytes -= t.spec.getSerializedSize();
        w.suspects -= t.suspectOnWorker ? 1 : 0;
        t.suspectOnWorker = false;
        reclaimAnswered(t);
        if (t.state == TaskState.RUNNING && !t.isProcess()) {
            w.runningCount--;
            w.progressAt = now;   // its slot is free for the next (see Reclaims)
        }
        w.hold(t.demand);
        if (offers(w)) {
            available.add(w);
        }
        onWorkers.remove(t.key);
        if (t.function != null) {
            // Told to forget with the next function it is sent; nothing to send for that now.
            w.sentFunctions.release(t.function.getDigest(), w.forgetNext::add);
        }
        dirty = true;
    }

    // ---- transitions

    private void end(Task t, TaskState to, String why, TaskResult.Builder result) {
        move(t, to, why, t.worker == null ? null : t.worker.id);
        if (t.session.live.remove(t.taskId, t)) {
            t.session.taskBytes -= t.bytes;
            taskBytes -= t.bytes;
            if (t.function != null) {
                t.session.functions.release(t.function.getDigest(), digest -> forgetFunction(t.session, digest));
            }
        }
        boolean held = result != null && send(t, result);
        if (journaling && !held && !t.session.closed) {
            out.accept(new Command.JournalForget(t.session.id, t.taskId));
        }
    }

    /** Sends a task's result to its session, or holds it while the session waits to be resumed; true if held. */
    private boolean send(Task t, TaskResult.Builder result) {
        Session s = t.session;
        if (s.closed) {
            return false;
        }
        if (t.worker != null) {
            result.setWorkerId(t.worker.id);
        }
        TaskResult r = result.setTaskId(t.taskId).build();
        if (s.attached()) {
            out.accept(new Command.SendResult(s.stream, r));
            return false;
        }
        hold(s, r);
        if (journaling) {
            out.accept(new Command.JournalResult(s.id, r));
        }
        return true;
    }

    private static void hold(Session s, TaskResult r) {
        s.held.add(r);
        s.heldBytes += r.getSerializedSize();
    }

    private void move(Task t, TaskState to, String why, String worker) {
        if (!TaskState.allowed(t.state, to)) {
            throw new IllegalStateException("illegal transition " + t.state + " -> " + to + " (" + why + ") of "
                    + describe(t) + " (key " + t.key + "); its story:\n  " + String.join("\n  ", story.of(t.key)));
        }
        story.record(now, t.key, t.attempt, t.state, to, why, worker);
        transitions.moved(t.key, t.attempt, t.state, to, why, worker != null ? worker : t.worker == null ? null : t.worker.id,
                t.session.id, t.session.clientName);
        if (t.losses > 0 && !t.isProcess()) {
            queuedSuspects += (to == TaskState.QUEUED ? 1 : 0) - (t.state == TaskState.QUEUED ? 1 : 0);
        }
        count(t.state, -1);
        count(to, 1);
        t.state = to;
    }

    private void count(TaskState s, int delta) {
        if (s == TaskState.QUEUED) {
            queued += delta;
        } else if (s.onWorker()) {
            running += delta;
        } else if (s.done() && delta > 0) {
            completed++;
        }
    }

    // ---- queries

    /** The recorded transitions of a task, oldest first (bounded: old entries are forgotten). */
    public List<String> story(long taskKey) {
        return story.of(taskKey);
    }

    /** The session of a task on a worker (assigned or running), or null: who that worker acts for. */
    public String sessionOfTaskOnWorker(long taskKey) {
        Task t = onWorkers.get(taskKey);
        return t == null ? null : t.session.id;
    }

    public long queuedCount() {
        return queued;
    }

    /** Tasks assigned or running. */
    public long runningCount() {
        return running;
    }

    /** Tasks that ended in any way. */
    public long completedCount() {
        return completed;
    }

    public StatusResponse status() {
        long functions = 0;
        for (Session s : sessionsById.values()) {
            functions += s.functions.size();
        }
        StatusResponse.Builder b = StatusResponse.newBuilder()
                .setQueuedTasks(queued).setRunningTasks(running).setCompletedTasks(completed)
                .setFunctionDefinitions(functions);
        for (WorkerNode w : workers.values()) {
            b.addWorkers(w.status(w.draining ? WorkerStatusState.DRAINING : WorkerStatusState.ACTIVE)
                    .toBuilder().setFunctionDefinitions(w.sentFunctions.size()));
        }
        List<WorkerStatus> recent = new ArrayList<>(lost.values());
        for (int i = recent.size() - 1; i >= 0; i--) {
            b.addWorkers(recent.get(i));
        }
        return b.build();
    }

    /** Checks every invariant; throws IllegalStateException naming the first broken one. */
    public void validate() {
        long q = 0;
        long r = 0;
        long unanswered = 0;
        Set<Task> seenOnWorkers = new HashSet<>();
        check(sessionsById.size() == sessions.size() + detached.size(), "session maps: " + sessionsById.size()
                + " open, " + sessions.size() + " with a stream, " + detached.size() + " waiting");
        for (Session s : sessionsById.values()) {
            check(!s.closed, "open session marked closed");
            long sessionBytes = s.live.values().stream().mapToLong(t -> t.bytes).sum();
            check(sessionBytes == s.taskBytes, "session " + s.id + " counts " + s.taskBytes + " task bytes, has " + sessionBytes);
            check(s.held.stream().mapToLong(TaskResult::getSerializedSize).sum() == s.heldBytes, "held bytes of " + s.id);
            unanswered += sessionBytes;
            check(s.attached() ? sessions.get(s.stream) == s && s.held.isEmpty() : detached.get(s.id) == s,
                    "session " + s.id + " in the wrong map");
            check(s.functions.liveUses() == s.live.values().stream().filter(t -> t.function != null).count(),
                    "session " + s.id + "'s functions count " + s.functions.liveUses() + " uses by live tasks");
            for (Map.Entry<Long, Task> e : s.live.entrySet()) {
                Task t = e.getValue();
                check(t.function == null || s.functions.contains(t.function.getDigest()),
                        "a live task's function was dropped");
                check(t.taskId == e.getKey() && t.session == s, "session map entry mismatch");
                check(!t.state.done() && t.state != TaskState.NEW, "live task in state " + t.state);
                if (t.state == TaskState.QUEUED && t.isProcess()) {
                    q++;
                    check(processQueue.contains(t), "queued process task not in the process queue");
                } else if (t.state == TaskState.QUEUED) {
                    q++;
                    SessionQueue sq = s.queues.get(t.policy.getPriority());
                    check(sq != null && sq.lanes.get(t.demand) != null
                            && sq.lanes.get(t.demand).tasks.contains(t), "queued task not in its lane");
                }
            }
            for (Map.Entry<Integer, SessionQueue> e : s.queues.entrySet()) {
                SessionQueue sq = e.getValue();
                check(sq.level.priority == e.getKey() && levels.get(e.getKey()) == sq.level
                        && sq.level.ring.contains(sq), "session queue not in its level");
                check(!sq.lanes.isEmpty(), "empty session queue kept");
                for (Lane lane : sq.lanes.values()) {
                    long live = lane.tasks.stream().filter(t -> t.state == TaskState.QUEUED).count();
                    check(live == lane.live && live > 0, "lane live count " + lane.live + " but " + live + " queued");
                    check(lane.demand.isNone() != constrainedLanes.contains(lane), "constrained lane registry");
                }
            }
        }
        for (Level level : levels.values()) {
            check(!level.ring.isEmpty(), "empty level kept");
            for (SessionQueue sq : level.ring) {
                check(sessionsById.get(sq.session.id) == sq.session, "queue of a closed session");
            }
        }
        int reclaiming = 0;
        for (Task t : onWorkers.values()) {
            check(t.state.onWorker(), "task on worker in state " + t.state);
            check(t.worker.unfinished.contains(t), "task not in its worker's unfinished set");
            check(!t.reclaimAsked || (t.state == TaskState.ASSIGNED && !t.isProcess()), "reclaim of a task that is "
                    + t.state + (t.isProcess() ? " (a process)" : ""));
            reclaiming += t.reclaimAsked ? 1 : 0;
            r++;
        }
        check(reclaiming == reclaims.unanswered(), "unanswered reclaims " + reclaims.unanswered() + " but "
                + reclaiming + " tasks asked back");
        for (WorkerNode w : workers.values()) {
            check(workersByStream.get(w.stream) == w && !w.lost, "worker maps");
            check(w.slotTasks <= w.slots + Math.max(w.prefetch, w.maxPrefetch), "worker " + w.id + " over credit");
            Map<String, Double> held = new HashMap<>();
            int runningHere = 0;
            int slotTasks = 0;
            int suspects = 0;
            check(w.sentFunctions.liveUses() == w.unfinished.stream().filter(t -> t.function != null).count(),
                    "worker " + w.id + "'s functions count " + w.sentFunctions.liveUses() + " uses by its tasks");
            for (Task t : w.unfinished) {
                check(t.function == null || w.sentFunctions.contains(t.function.getDigest()),
                        "the function of a task on worker " + w.id + " was forgotten there");
                slotTasks += t.isProcess() ? 0 : 1;
                suspects += t.suspectOnWorker ? 1 : 0;
                check(onWorkers.get(t.key) == t && t.worker == w, "unfinished task not on this worker");
                seenOnWorkers.add(t);
                runningHere += t.state == TaskState.RUNNING && !t.isProcess() ? 1 : 0;
                t.demand.resources().forEach((k, v) -> held.merge(k, v, Double::sum));
            }
            check(runningHere == w.runningCount, "running count of " + w.id);
            check(slotTasks == w.slotTasks, "slot task count of " + w.id);
            long bytes = 0;
            for (Task t : w.unfinished) {
                bytes += t.spec.getSerializedSize();
            }
            check(bytes == w.heldBytes, "bytes held by " + w.id);
            check(suspects == w.suspects, "suspect count of " + w.id);
            held.forEach((k, v) -> check(Math.abs(w.used(k) - v) < 1e-6, "resource " + k + " held by " + w.id));
            check(available.contains(w) == offers(w), "available set membership of " + w.id);
        }
        check(seenOnWorkers.size() == onWorkers.size(), "tasks on lost workers");
        long suspectsQueued = 0;
        for (Session s : sessionsById.values()) {
            for (Task t : s.live.values()) {
                suspectsQueued += t.state == TaskState.QUEUED && t.losses > 0 && !t.isProcess() ? 1 : 0;
            }
        }
        check(suspectsQueued == queuedSuspects, "queued suspect counter " + queuedSuspects + " but " + suspectsQueued);
        for (WorkerNode w : workers.values()) {
            check(w.reserved == reserved.contains(w), "reservation flag of " + w.id);
        }
        check(workers.values().containsAll(reserved), "a reserved worker is not attached");
        check(available.size() <= workers.size(), "available set has unknown workers");
        check(q == queued, "queued counter " + queued + " but " + q + " queued");
        unanswered += onWorkers.values().stream().filter(t -> t.session.closed && t.session.live.get(t.taskId) == t)
                .mapToLong(t -> t.bytes).sum();   // a closed session's tasks still running
        check(unanswered == taskBytes, "task bytes counter " + taskBytes + " but " + unanswered + " unanswered");
        check(r == running, "running counter " + running + " but " + r + " on workers");
        check(lost.size() <= LOST_WORKERS_KEPT, "lost list unbounded");
        for (Task t : processQueue) {
            check(t.isProcess(), "a slot task in the process queue");
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("invariant broken: " + what);
        }
    }

    private static String describe(Task t) {
        String name = t.policy.getName();
        return "task " + Long.toUnsignedString(t.taskId) + (name.isEmpty() ? "" : " (" + name + ")");
    }

    private static String hex(ByteString bytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(bytes.size(), 8); i++) {
            sb.append(String.format("%02x", bytes.byteAt(i)));
        }
        return sb.append(bytes.size() > 8 ? "..." : "").toString();
    }

    // ---- state objects

    private static final class Task implements Reclaims.Held {
        final long key;
        final long taskId;
        final Session session;
        final TaskSpec spec;
        final TaskPolicy policy;
        final FunctionDef function;
        final Demand demand;
        /** Its encoded size, counted against the budgets while it is unanswered. */
        final int bytes;
        TaskState state = TaskState.NEW;
        int attempt;
        int losses;
        /** Placed as a suspect (it had lost a worker while running): its worker takes nothing else. */
        boolean suspectOnWorker;
        WorkerNode worker;
        List<String> lostOn;
        boolean cancelRequested;
        boolean cancelInterrupt;
        /** Process tasks only (lanes keep the clock of other tasks). */
        final UnfitClock unfit;
        /** Its function's run-time estimate, looked up when first needed. */
        RunTimes.Estimate runTime;
        /** When it was assigned, or started once it has. */
        long since;
        /** Asked back from its worker for an idle one, and not answered yet. */
        boolean reclaimAsked;

        Task(long key, long taskId, Session session, TaskSpec spec, TaskPolicy policy, FunctionDef function, Demand demand) {
            this.key = key;
            this.taskId = taskId;
            this.session = session;
            this.spec = spec;
            this.policy = policy;
            this.function = function;
            this.demand = demand;
            this.bytes = spec.getSerializedSize() + policy.getSerializedSize();
            this.unfit = spec.hasProcess() ? new UnfitClock() : null;
        }

        boolean isProcess() {
            return spec.hasProcess();
        }

        @Override public boolean holdsSlot() { return !isProcess(); }
        @Override public boolean mayReclaim() { return state == TaskState.ASSIGNED && !isProcess() && !suspectOnWorker && !reclaimAsked; }
        @Override public long since() { return since; }
        @Override public Demand demand() { return demand; }

        long maxRetries() {
            return policy.hasMaxRetries() ? Integer.toUnsignedLong(policy.getMaxRetries()) : Protocol.DEFAULT_MAX_RETRIES;
        }
    }

    private static final class Session {
        static final long DETACHED = -1;
        /** Its stream, or DETACHED while it waits to be resumed. */
        long stream;
        final String id;
        final String clientName;
        final Map<Long, Task> live = new HashMap<>();
        final FunctionTable functions;
        final Map<Integer, SessionQueue> queues = new HashMap<>(2);
        boolean closed;
        long detachedAt;
        /** Results that came while it had no stream, oldest first. */
        final List<TaskResult> held = new ArrayList<>(0);
        /** The encoded size of {@link #held}. */
        long heldBytes;
        /** Encoded bytes of its unanswered tasks. */
        long taskBytes;
        /** Its stream has more results unwritten than {@link Budgets#heldBytesPerClient}: it is not reading. */
        boolean backedUp;
        /** Resumed at least once: tasks it sends again are expected, not a client's mistake. */
        boolean resumed;
        /** Task ids answered from {@link #held} on the last resume, so that sending them again is a no-op. */
        final Set<Long> answeredOnResume = new HashSet<>(0);

        boolean attached() {
            return stream != DETACHED;
        }

        Session(long stream, String id, String clientName, int idleFunctions) {
            this.stream = stream;
            this.id = id;
            this.clientName = clientName;
            this.functions = new FunctionTable(idleFunctions);
        }
    }

    private static final class Level {
        final int priority;
        final ArrayDeque<SessionQueue> ring = new ArrayDeque<>();

        Level(int priority) {
            this.priority = priority;
        }
    }

    private static final class SessionQueue {
        final Session session;
        final Level level;
        final Map<Demand, Lane> lanes = new LinkedHashMap<>(2);

        SessionQueue(Session session, Level level) {
            this.session = session;
            this.level = level;
        }
    }

    private static final class Lane {
        final SessionQueue queue;
        final Demand demand;
        final ArrayDeque<Task> tasks = new ArrayDeque<>();
        int live;
        final UnfitClock unfit = new UnfitClock();

        Lane(SessionQueue queue, Demand demand) {
            this.queue = queue;
            this.demand = demand;
        }

        /** The first task still QUEUED, dropping cancelled ones before it. */
        Task head() {
            Task t = tasks.peekFirst();
            while (t != null && t.state != TaskState.QUEUED) {
                tasks.pollFirst();
                t = tasks.peekFirst();
            }
            return t;
        }
    }

    /** Placement timeout: how long workers were attached and none could ever run a lane or a process. */
    private static final class UnfitClock {
        long waited;
        /** When last counted; -1 while not counting. */
        long seen = -1;

        /** Moves the clock to {@code now}; true once the wait has reached {@code limit}. */
        boolean expired(boolean noWorkers, boolean fitsSomewhere, long now, long limit) {
            if (noWorkers) {
                seen = -1;   // the clock pauses
                return false;
            }
            if (fitsSomewhere) {
                seen = -1;
                waited = 0;
                return false;
            }
            if (seen >= 0) {
                waited += now - seen;
            }
            seen = now;
            return waited >= limit;
        }
    }

    private static final class WorkerNode implements Placement.Candidate, Reclaims.Holder<Task> {
        final long stream;
        final String id;
        final String host;
        final long pid;
        final int slots;
        final int prefetch;
        /** Adaptive prefetch's ceiling (not above prefetch: none). */
        final int maxPrefetch;
        final Map<String, Double> totals;
        final Set<String> labels;
        final Map<String, Double> used = new HashMap<>();
        final Set<Task> unfinished = new LinkedHashSet<>();
        /** The unfinished tasks that are not process tasks. */
        int slotTasks;
        /** Serialized size of the unfinished tasks' specs. */
        long heldBytes;
        /** Functions it was sent; those that go idle beyond the cap wait in forgetNext to be sent with the next assign. */
        final FunctionTable sentFunctions = new FunctionTable(IDLE_FUNCTIONS_PER_WORKER);
        final List<ByteString> forgetNext = new ArrayList<>(0);
        int runningCount;
        boolean draining;
        boolean lost;
        long lastHeard;
        /** Unfinished tasks placed here as suspects (see emptyWorker). */
        int suspects;
        /** Kept from new tasks until it is empty, for a queued suspect. */
        boolean reserved;
        /** When one of its slot tasks last started, or ended after running. */
        long progressAt;

        WorkerNode(long stream, String id, Event.WorkerAttached e, long now) {
            this.stream = stream;
            this.id = id;
            this.host = e.host();
            this.pid = e.pid();
            this.slots = e.slots();
            this.prefetch = e.prefetch();
            this.maxPrefetch = e.maxPrefetch();
            Map<String, Double> t = new HashMap<>(e.resources());
            t.putIfAbsent("cpu", (double) e.slots());
            this.totals = Map.copyOf(t);
            this.labels = Set.copyOf(e.labels());
            this.draining = e.draining();
            this.lastHeard = now;
        }

        /**
         * {@code d}'s task came or went: what the worker's tasks hold is summed again from them. A
         * running sum drifts (1e300 + 0.5 - 1e300 is 0, not 0.5: found by SchedulerFuzzTest's long
         * run), and the tasks on one worker are few.
         */
        void hold(Demand d) {
            if (d.resources().isEmpty()) {
                return;   // the sums are unchanged
            }
            used.clear();
            for (Task t : unfinished) {
                t.demand.resources().forEach((k, v) -> used.merge(k, v, Double::sum));
            }
        }

        WorkerStatus status(WorkerStatusState state) {
            return WorkerStatus.newBuilder().setId(id).setHost(host).setPid(pid).setSlots(slots)
                    .setBusySlots(runningCount).putAllResources(totals).addAllLabels(new TreeSet<>(labels))
                    .setState(state).build();
        }

        @Override public String id() { return id; }
        @Override public boolean accepting() { return !draining && !lost; }
        @Override public int slots() { return slots; }
        @Override public int unfinished() { return slotTasks; }
        /** Process tasks hold no slot, so they take no credit; a worker running a suspect takes nothing more. */
        @Override public int credit() { return suspects > 0 || reserved ? 0 : slots + prefetch - slotTasks; }
        /** Credit counting adaptive prefetch, whatever the tasks: an upper bound of what it may be sent. */
        int capacity() { return suspects > 0 || reserved ? 0 : slots + Math.max(prefetch, maxPrefetch) - slotTasks; }
        @Override public Set<String> labels() { return labels; }
        @Override public Iterable<Task> held() { return unfinished; }
        @Override public int slotTasks() { return slotTasks; }
        @Override public long progressAt() { return progressAt; }
        @Override public Map<String, Double> totals() { return totals; }
        @Override public double used(String resource) { return used.getOrDefault(resource, 0.0); }
    }
}
