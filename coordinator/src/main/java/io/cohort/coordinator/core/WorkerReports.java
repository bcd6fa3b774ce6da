package io.cohort.coordinator.core;

import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.TaskProcessOutput;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskStarted;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerProcessOutput;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.List;

/**
 * What workers tell the scheduler about their tasks: started, ended (a result, handed back, or
 * lost with a child JVM), process output; and a worker lost with what it held. Reports of an
 * earlier attempt or another worker are stale and ignored. Not thread-safe.
 */
final class WorkerReports {
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());

    private final Step step;
    private final TaskLedger ledger;
    private final WorkerPool pool;
    private final Endings endings;

    WorkerReports(Step step, TaskLedger ledger, WorkerPool pool, Endings endings) {
        this.step = step;
        this.ledger = ledger;
        this.pool = pool;
        this.endings = endings;
    }

    /** The worker is gone: what it held runs again elsewhere, or ends (see Endings#requeueOrEnd). */
    void lose(WorkerNode w, String reason) {
        List<Task> tasks = pool.remove(w, reason);
        // Backwards, since each goes to the front of its lane: they keep their order.
        for (int i = tasks.size() - 1; i >= 0; i--) {
            Task t = tasks.get(i);
            boolean started = t.state == TaskState.RUNNING;
            pool.release(t);
            if (started) {
                t.lost(w.id);
            }
            endings.requeueOrEnd(t, started, "worker lost");
        }
        pool.remember(w);
    }


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

    void started(long stream, long taskKey, int attempt) {
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

    void ended(long stream, WorkerTaskResult r) {
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
                t.lost(t.worker.id + " (" + (r.hasError() ? r.getError().getMessage() : "a child JVM died") + ")");
                endings.requeueOrEnd(t, true, "child JVM lost");
                return;
            }
            case SUCCEEDED -> to = TaskState.SUCCEEDED;
            case FAILED -> to = TaskState.FAILED;
            case CANCELLED -> to = TaskState.CANCELLED;
            case TIMED_OUT -> to = TaskState.TIMED_OUT;
            default -> {
                endings.end(t, TaskState.FAILED, "bad status", TaskResult.newBuilder().setStatus(TaskStatus.FAILED)
                        .setError(TaskErrors.plain(Scheduler.COHORT_EXCEPTION_CLASS, "worker " + t.worker.id
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
    void output(long stream, WorkerProcessOutput o) {
        Task t = taskOn(stream, o.getTaskKey(), o.getAttempt(), "process output", null);
        if (t != null && t.session.attached()) {
            step.emit(new Command.ForwardOutput(t.session.stream, TaskProcessOutput.newBuilder()
                    .setTaskId(t.taskId).setOutput(o.getOutput()).build()));
        }
    }
}
