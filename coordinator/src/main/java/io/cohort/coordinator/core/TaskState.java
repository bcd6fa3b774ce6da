package io.cohort.coordinator.core;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/** A task's life at the coordinator; {@link #allowed} is the transition table. */
public enum TaskState {
    /** Submitted, not yet checked. */
    NEW,
    QUEUED,
    /** Sent to a worker, not reported started. */
    ASSIGNED,
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED,
    TIMED_OUT,
    WORKER_LOST,
    REJECTED;

    private static final Map<TaskState, Set<TaskState>> NEXT = new EnumMap<>(TaskState.class);

    static {
        // A lost worker sends ASSIGNED and RUNNING tasks back to QUEUED. Only a RUNNING task
        // counts a loss, so only RUNNING can end WORKER_LOST. A result may come without a
        // started notice, hence ASSIGNED -> any result.
        NEXT.put(NEW, EnumSet.of(QUEUED, REJECTED));
        NEXT.put(QUEUED, EnumSet.of(ASSIGNED, CANCELLED, REJECTED));
        NEXT.put(ASSIGNED, EnumSet.of(RUNNING, QUEUED, SUCCEEDED, FAILED, CANCELLED, TIMED_OUT));
        NEXT.put(RUNNING, EnumSet.of(QUEUED, SUCCEEDED, FAILED, CANCELLED, TIMED_OUT, WORKER_LOST));
        for (TaskState s : values()) {
            NEXT.putIfAbsent(s, EnumSet.noneOf(TaskState.class));
        }
    }

    public static boolean allowed(TaskState from, TaskState to) {
        return NEXT.get(from).contains(to);
    }

    public boolean done() {
        return NEXT.get(this).isEmpty();
    }

    /** Assigned to a worker and not yet ended there. */
    public boolean onWorker() {
        return this == ASSIGNED || this == RUNNING;
    }
}
