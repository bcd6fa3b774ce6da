package io.cohort.coordinator.core;

import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskProcessOutput;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStarted;

/** What the {@link Scheduler} decides; the shell turns each into part of an outbound message. */
public sealed interface Command {
    /** A command for one stream, sent in order with the stream's other commands. */
    sealed interface ToStream extends Command {
        long stream();
    }

    /** {@code maxTasks}, {@code maxTaskBytes}: unanswered tasks, and their bytes, the session may have at the coordinator. */
    record WelcomeClient(long stream, String sessionId, boolean resumed, int maxTasks, long maxTaskBytes) implements ToStream {
        public WelcomeClient(long stream, String sessionId) {
            this(stream, sessionId, false, Integer.MAX_VALUE, Long.MAX_VALUE);
        }
    }

    record WelcomeWorker(long stream, String workerId, int heartbeatTimeoutMs) implements ToStream {}

    /**
     * {@code function} is the task's FunctionDef when this worker was not sent it yet, else null;
     * {@code forgetFunctions}: digests the worker may drop (no task there uses them), applied first.
     */
    record Assign(long stream, String workerId, FunctionDef function, TaskAssign assign,
                  java.util.List<com.google.protobuf.ByteString> forgetFunctions) implements ToStream {
        public Assign(long stream, String workerId, FunctionDef function, TaskAssign assign) {
            this(stream, workerId, function, assign, java.util.List.of());
        }
    }

    record CancelOrder(long stream, String workerId, TaskCancelOrder order) implements ToStream {}

    record NotifyStarted(long stream, TaskStarted started) implements ToStream {}

    record SendResult(long stream, TaskResult result) implements ToStream {}

    /** Pid or output lines of a process task, for its session. */
    record ForwardOutput(long stream, TaskProcessOutput output) implements ToStream {}

    /** Ends the stream with an error status; whatever was not yet written to it is dropped. */
    record CloseStream(long stream, CloseCode code, String message) implements ToStream {}

    record DrainAnswer(long requestId, boolean found) implements Command {}

    /** A session ended for good (closed, or not resumed within the grace period). */
    record SessionEnded(String sessionId) implements Command {}

    /**
     * What the journal must hold so that a restarted coordinator can carry on; made only when
     * the scheduler journals. The shell writes each batch's records as one group.
     */
    sealed interface ToJournal extends Command {
        String sessionId();
    }

    record JournalSession(String sessionId, String clientName) implements ToJournal {}

    record JournalFunction(String sessionId, FunctionDef function) implements ToJournal {}

    /** A task accepted and not answered yet. */
    record JournalTask(String sessionId, long taskId, TaskSpec spec, TaskPolicy policy) implements ToJournal {}

    /** A definition the session dropped once no task used it. */
    record JournalForgetFunction(String sessionId, com.google.protobuf.ByteString digest) implements ToJournal {}

    /** A result held for a session whose stream is gone; it replaces the task's record. */
    record JournalResult(String sessionId, TaskResult result) implements ToJournal {}

    /** The task was answered on the session's stream, or ended unanswered: its records go. */
    record JournalForget(String sessionId, long taskId) implements ToJournal {}

    /** The gRPC status codes the scheduler closes streams with (named alike). */
    enum CloseCode { INVALID_ARGUMENT, ALREADY_EXISTS, UNAVAILABLE, ABORTED, RESOURCE_EXHAUSTED }
}
