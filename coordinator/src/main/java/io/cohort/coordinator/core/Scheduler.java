package io.cohort.coordinator.core;

import io.cohort.common.TaskErrors;
import io.cohort.coordinator.core.Command.CloseCode;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The coordinator's scheduling state machine: sessions, tasks and workers, with no I/O, no
 * threads and no clock of its own ({@link Event.Tick} brings the time).
 *
 * <p>Not thread-safe: one thread calls {@link #apply} for each event, then {@link #dispatch}
 * once for the batch. {@link #handle} does both for one event (tests).
 *
 * <p>Design notes for maintainers. This class routes each event to the part that handles it,
 * runs the timers of a tick, and checks what ties the parts together in {@link #validate};
 * each part keeps its own books and checks its own invariants. They share one {@link Step}
 * (the command sink, the clock, whether a dispatch is due), with no I/O, threads or clock:
 * <ul>
 *   <li>{@link ClientRequests}: sessions opened, resumed, closed; functions, submits, cancels.
 *   <li>{@link WorkerReports}: tasks started and ended on workers, process output, lost workers.
 *   <li>{@link Dispatcher}: queued tasks matched with workers.
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
    private final ClientRequests clients;
    private final WorkerReports reports;
    private final Dispatcher dispatcher;
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
        this.clients = new ClientRequests(step, ledger, sessions, queue, pool, endings, journaling, this::violation);
        this.reports = new WorkerReports(step, ledger, pool, endings);
        this.dispatcher = new Dispatcher(ledger, sessions, queue, pool);
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
    /** Sets the one listener told of every task transition (metrics, the dashboard); call before the first event. */
    public void onTransition(Transitions listener) {
        ledger.transitions = listener;
    }

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
            clients.submit(e);
        } else if (event instanceof Event.TaskEnded e) {
            reports.ended(e.stream(), e.result());
        } else if (event instanceof Event.TaskStartedOnWorker e) {
            reports.started(e.stream(), e.taskKey(), e.attempt());
        } else if (event instanceof Event.WorkerHeard e) {
            pool.heard(e.stream());
        } else if (event instanceof Event.CancelRequested e) {
            clients.cancel(e.stream(), e.taskId(), e.interrupt(), e.signal());
        } else if (event instanceof Event.ProcessOutputReported e) {
            reports.output(e.stream(), e.output());
        } else if (event instanceof Event.FunctionsDefined e) {
            clients.defineFunctions(e.stream(), e.functions());
        } else if (event instanceof Event.SessionOpened e) {
            clients.open(e);
        } else if (event instanceof Event.SessionClosed e) {
            ClientSession s = sessions.byStream(e.stream());
            if (s != null) {
                clients.close(s);
            }
        } else if (event instanceof Event.SessionLost e) {
            ClientSession s = sessions.byStream(e.stream());
            if (s != null && sessionGraceMs > 0) {
                sessions.detach(s, step.now);
            } else if (s != null) {
                clients.close(s);
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
                reports.lose(w, e.reason());
            }
        } else if (event instanceof Event.WorkerDraining e) {
            WorkerNode w = pool.byStream(e.stream());
            if (w != null) {
                pool.drain(w, "it is stopping");
            }
        } else if (event instanceof Event.AdminDrain e) {
            WorkerNode w = pool.byId(e.workerId());
            if (w != null) {
                pool.drain(w, "an admin asked");
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

    /**
     * Takes up a session from the journal of an earlier run, waiting to be resumed: its tasks
     * are queued again and its held results kept for the client.
     */
    public void recoverSession(String id, String clientName, List<FunctionDef> functions,
                               List<Event.TaskSubmitted> tasks, List<TaskResult> held) {
        // Journal records of definitions dropped here go with the first batch the scheduler handles.
        clients.recover(id, clientName, functions, tasks, held, deferred::add);
    }

    /** Assigns what can be assigned now (see {@link Dispatcher}); nothing when nothing changed. */
    public void dispatch(Consumer<Command> sink) {
        if (!step.dirty) {
            return;
        }
        step.dirty = false;
        step.out = sink;
        dispatcher.dispatch();
    }

    // ---- stream ends and time

    /** Closes the stream with INVALID_ARGUMENT and forgets it. */
    private void violation(long stream, String message) {
        ClientSession s = sessions.byStream(stream);
        if (s != null) {
            step.emit(new Command.CloseStream(stream, CloseCode.INVALID_ARGUMENT, message));
            clients.close(s);
        } else {
            WorkerNode w = pool.byStream(stream);
            if (w != null) {
                step.emit(new Command.CloseStream(stream, CloseCode.INVALID_ARGUMENT, message));
                reports.lose(w, "protocol violation: " + message);
            }
        }
    }

    private void tick(long nowMillis) {
        step.now = nowMillis;
        long now = nowMillis;
        for (ClientSession s = sessions.oldestDetached(); s != null && now - s.detachedAt >= sessionGraceMs;
             s = sessions.oldestDetached()) {
            LOG.log(System.Logger.Level.INFO, "session {0} was not resumed within {1} ms and ends", s.id, sessionGraceMs);
            clients.close(s);
        }
        for (WorkerNode w : pool.silent()) {
            step.emit(new Command.CloseStream(w.stream, CloseCode.UNAVAILABLE, "worker " + w.id
                    + " sent nothing for " + (now - w.lastHeard) + " ms and is declared lost"));
            reports.lose(w, "heartbeat timeout");
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
        return ledger.tally.completed();
    }

    public StatusResponse status() {
        StatusResponse.Builder b = StatusResponse.newBuilder()
                .setQueuedTasks(ledger.queued).setRunningTasks(ledger.running).setCompletedTasks(ledger.tally.completed())
                .setFailedTasks(ledger.tally.failed()).setRetriedTasks(ledger.tally.retried())
                .setTasksPerSecond(ledger.tally.perSecond(step.now)).setFunctionDefinitions(sessions.functions());
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
}
