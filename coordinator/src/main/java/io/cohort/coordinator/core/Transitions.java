package io.cohort.coordinator.core;

/**
 * Told of each task transition, on the scheduler's thread, as it happens. It must return
 * quickly, never block and never throw: metrics and the dashboard copy what they need here and
 * do the rest on threads of their own.
 */
@FunctionalInterface
public interface Transitions {
    Transitions NONE = (taskKey, attempt, from, to, why, worker, sessionId, clientName) -> { };

    /**
     * {@code worker}: the worker the task is assigned to or was on, or null; {@code sessionId}
     * is the session's secret id (to group by, never to show).
     */
    void moved(long taskKey, int attempt, TaskState from, TaskState to, String why, String worker, String sessionId,
               String clientName);
}
