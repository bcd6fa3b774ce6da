package io.cohort.coordinator.core;

import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.WorkerProcessOutput;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What happens to the {@link Scheduler}. A {@code stream} is the shell's id of one client
 * session or worker attachment; ids are never reused, so events from a stream the scheduler
 * no longer knows are ignored.
 */
public sealed interface Event {
    /** A client stream said hello; {@code resumeId} names a session to take up again, or is empty. */
    record SessionOpened(long stream, String clientName, String resumeId) implements Event {
        public SessionOpened(long stream, String clientName) {
            this(stream, clientName, "");
        }
    }

    /** A client stream ended cleanly (the client half-closed it): the session ends. */
    record SessionClosed(long stream) implements Event {}

    /**
     * A client stream broke (cancelled, reset, or an error): the session waits for the client to
     * resume it for the session grace period, then ends.
     */
    record SessionLost(long stream) implements Event {}

    /**
     * The session's stream has more unwritten than its budget of held results (it is not
     * reading them: {@code true}), or has written them down again ({@code false}).
     */
    record SessionBackedUp(long stream, boolean backedUp) implements Event {}

    record FunctionsDefined(long stream, List<FunctionDef> functions) implements Event {}

    record TaskSubmitted(long stream, long taskId, TaskSpec spec, TaskPolicy policy) implements Event {}

    /** {@code signal}: process tasks only, 15 terminate or 9 kill (TaskCancel.signal); 0 a plain cancel. */
    record CancelRequested(long stream, long taskId, boolean interrupt, int signal) implements Event {
        public CancelRequested(long stream, long taskId, boolean interrupt) {
            this(stream, taskId, interrupt, 0);
        }
    }

    /** A worker stream said hello; {@code requestedId} empty lets the scheduler choose. */
    record WorkerAttached(long stream, String requestedId, String host, long pid, int slots, int prefetch,
                          Map<String, Double> resources, Set<String> labels, boolean draining, int maxPrefetch)
            implements Event {
        /** Without adaptive prefetch. */
        public WorkerAttached(long stream, String requestedId, String host, long pid, int slots, int prefetch,
                              Map<String, Double> resources, Set<String> labels, boolean draining) {
            this(stream, requestedId, host, pid, slots, prefetch, resources, labels, draining, prefetch);
        }
    }

    /** A worker stream ended. */
    record WorkerLost(long stream, String reason) implements Event {
        /** The reason when the worker closed its stream itself: after a drain, that is a drained worker, not a lost one. */
        public static final String STREAM_ENDED = "stream ended";
    }

    /** Any message from a worker: a heartbeat. */
    record WorkerHeard(long stream) implements Event {}

    record WorkerDraining(long stream) implements Event {}

    record TaskStartedOnWorker(long stream, long taskKey, int attempt) implements Event {}

    record TaskEnded(long stream, WorkerTaskResult result) implements Event {}

    /** Pid or output lines of a process task, to forward to its session. */
    record ProcessOutputReported(long stream, WorkerProcessOutput output) implements Event {}

    /** An operator asked to drain a worker; answered by {@link Command.DrainAnswer}. */
    record AdminDrain(long requestId, String workerId) implements Event {}

    /** A stream broke the protocol after its hello; it is closed with INVALID_ARGUMENT. */
    record ProtocolViolation(long stream, String message) implements Event {}

    /** The clock, in milliseconds from an arbitrary origin; the scheduler has no other. */
    record Tick(long nowMillis) implements Event {}
}
