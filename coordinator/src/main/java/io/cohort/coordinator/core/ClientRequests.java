package io.cohort.coordinator.core;

import com.google.protobuf.ByteString;
import io.cohort.common.Digests;
import io.cohort.common.TaskErrors;
import io.cohort.coordinator.core.Command.CloseCode;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStarted;
import io.cohort.proto.v1.TaskStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What clients ask of the scheduler: sessions opened, resumed and closed (or taken up from the
 * journal), functions defined, tasks submitted (checked, against the budgets too) and
 * cancelled. Not thread-safe.
 */
final class ClientRequests {
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());

    private final Step step;
    private final TaskLedger ledger;
    private final SessionTable sessions;
    private final TaskQueue queue;
    private final WorkerPool pool;
    private final Endings endings;
    /** Whether to make {@link Command.ToJournal} records. */
    private final boolean journaling;
    /** Closes a stream that broke the protocol, with its message (the scheduler's, which knows both kinds). */
    private final StreamViolations violations;
    private long nextTaskKey = 1;

    /** Where a client's protocol violation goes: its stream is closed and forgotten. */
    interface StreamViolations {
        void accept(long stream, String message);
    }

    ClientRequests(Step step, TaskLedger ledger, SessionTable sessions, TaskQueue queue, WorkerPool pool,
                   Endings endings, boolean journaling, StreamViolations violations) {
        this.step = step;
        this.ledger = ledger;
        this.sessions = sessions;
        this.queue = queue;
        this.pool = pool;
        this.endings = endings;
        this.journaling = journaling;
        this.violations = violations;
    }

    /** A client's hello: a new session, or one taken up again on a new stream. */
    void open(Event.SessionOpened e) {
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
                close(old);
                return true;
            }
        }
        return false;
    }

    /**
     * Takes up a session from the journal of an earlier run, waiting to be resumed: its tasks
     * are queued again and its held results kept for the client.
     */
    void recover(String id, String clientName, List<FunctionDef> functions, List<Event.TaskSubmitted> tasks,
                 List<TaskResult> held, Consumer<Command> later) {
        ClientSession s = sessions.recover(id, clientName, step.now);
        Map<ByteString, FunctionDef> recovered = new HashMap<>();
        for (FunctionDef f : functions) {
            recovered.put(f.getDigest(), f);
        }
        // Journal records of definitions dropped here go with the first batch the scheduler handles.
        Consumer<ByteString> dropped = digest -> later.accept(new Command.JournalForgetFunction(s.id, digest));
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

    void defineFunctions(long stream, List<FunctionDef> functions) {
        ClientSession s = sessions.byStream(stream);
        if (s == null) {
            return;
        }
        for (FunctionDef f : functions) {
            if (!Digests.sha256(f.getBody()).equals(f.getDigest())) {
                violations.accept(stream, "function digest " + hex(f.getDigest()) + " is not the SHA-256 of its body");
                return;
            }
            if (s.functions.define(f, digest -> endings.forgetFunction(s, digest)) && journaling) {
                step.emit(new Command.JournalFunction(s.id, f));
            }
        }
    }

    void submit(Event.TaskSubmitted e) {
        ClientSession s = sessions.byStream(e.stream());
        if (s == null) {
            return;
        }
        if (s.resumed && (s.live.containsKey(e.taskId()) || s.answeredOnResume.remove(e.taskId()))) {
            return;   // sent again after a resume, and held here all along
        }
        if (s.live.containsKey(e.taskId())) {
            violations.accept(e.stream(), "duplicate task_id " + Long.toUnsignedString(e.taskId()) + " in this session");
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
                    problem != null ? Scheduler.COHORT_EXCEPTION_CLASS : Scheduler.REJECTED_EXECUTION_CLASS,
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

    void cancel(long stream, long taskId, boolean interrupt, int signal) {
        ClientSession s = sessions.byStream(stream);
        Task t = s == null ? null : s.live.get(taskId);
        if (t == null) {
            return;
        }
        if (t.state == TaskState.QUEUED) {
            queue.unqueue(t);
            endings.end(t, TaskState.CANCELLED, "cancelled", TaskResult.newBuilder().setStatus(TaskStatus.CANCELLED)
                    .setError(TaskErrors.plain(Scheduler.CANCELLATION_CLASS, t.describe() + " was cancelled before it started", "")));
        } else if (t.state.onWorker()) {
            t.cancelRequested = true;
            t.cancelInterrupt |= interrupt || signal != 0;
            pool.cancelOnWorker(t, interrupt || signal != 0, signal);
        }
    }

    void close(ClientSession s) {
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

    private static String hex(ByteString bytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(bytes.size(), 8); i++) {
            sb.append(String.format("%02x", bytes.byteAt(i)));
        }
        return sb.append(bytes.size() > 8 ? "..." : "").toString();
    }
}
