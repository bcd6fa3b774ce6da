package io.cohort.coordinator.core;

import com.google.protobuf.ByteString;
import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskStatus;

/**
 * How a task leaves the books: ended, with its result sent to its client, held while the
 * client is away, and journalled; or, after it left a worker without a result, queued again
 * unless it must end (its session closed, a cancel asked for, or too many lost workers).
 * Not thread-safe.
 */
final class Endings {
    private final Step step;
    private final TaskLedger ledger;
    private final SessionTable sessions;
    private final TaskQueue queue;
    /** Whether to make {@link Command.ToJournal} records. */
    private final boolean journaling;

    Endings(Step step, TaskLedger ledger, SessionTable sessions, TaskQueue queue, boolean journaling) {
        this.step = step;
        this.ledger = ledger;
        this.sessions = sessions;
        this.queue = queue;
        this.journaling = journaling;
    }

    /** Ends the task in state {@code to}; {@code result} (may be null: none) goes to its client. */
    void end(Task t, TaskState to, String why, TaskResult.Builder result) {
        ledger.move(t, to, why, t.worker == null ? null : t.worker.id);
        if (sessions.retire(t) && t.function != null) {
            t.session.functions.release(t.function.getDigest(), digest -> forgetFunction(t.session, digest));
        }
        boolean held = result != null && send(t, result);
        if (journaling && !held && !t.session.closed) {
            step.emit(new Command.JournalForget(t.session.id, t.taskId));
        }
    }

    /** Sends a task's result to its session, or holds it while the session waits to be resumed; true if held. */
    boolean send(Task t, TaskResult.Builder result) {
        ClientSession s = t.session;
        if (s.closed) {
            return false;
        }
        if (t.worker != null) {
            result.setWorkerId(t.worker.id);
        }
        TaskResult r = result.setTaskId(t.taskId).build();
        if (s.attached()) {
            step.emit(new Command.SendResult(s.stream, r));
            return false;
        }
        s.hold(r);
        if (journaling) {
            step.emit(new Command.JournalResult(s.id, r));
        }
        return true;
    }

    /** After a task left its worker without a result: queue it again unless it must end. */
    void requeueOrEnd(Task t, boolean countedLoss, String why) {
        if (t.session.closed) {
            end(t, TaskState.CANCELLED, "session closed", null);
        } else if (t.cancelRequested && (t.state == TaskState.ASSIGNED || t.cancelInterrupt)) {
            end(t, TaskState.CANCELLED, why, TaskResult.newBuilder().setStatus(TaskStatus.CANCELLED)
                    .setError(TaskErrors.plain(Scheduler.CANCELLATION_CLASS, t.describe() + " was cancelled", "")));
        } else if (countedLoss && t.losses > t.maxRetries()) {
            end(t, TaskState.WORKER_LOST, why, TaskResult.newBuilder().setStatus(TaskStatus.WORKER_LOST)
                    .setError(TaskErrors.plain(Scheduler.WORKER_LOST_CLASS, t.describe()
                            + " was running on a worker that was lost " + t.losses + (t.losses == 1 ? " time" : " times")
                            + " (workers " + String.join(", ", t.lostOn) + "); max_retries is " + t.maxRetries(),
                            t.worker.id)));
        } else {
            if (countedLoss) {
                ledger.tally.addRetry();
            }
            ledger.move(t, TaskState.QUEUED, why, null);
            queue.enqueue(t, true);
        }
    }

    /** A session's definition no task used was dropped: its journal record goes too. */
    void forgetFunction(ClientSession s, ByteString digest) {
        if (journaling && !s.closed) {
            step.emit(new Command.JournalForgetFunction(s.id, digest));
        }
    }
}
