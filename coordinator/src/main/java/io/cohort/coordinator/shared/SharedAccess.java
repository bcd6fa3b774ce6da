package io.cohort.coordinator.shared;

import io.cohort.coordinator.server.Authenticator.Role;
import io.cohort.proto.v1.SharedHolder;
import io.grpc.Status;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who may use a session's shared objects: its client, and a worker (or a child JVM of it)
 * while it runs one of the session's tasks. Everything else, made-up and ended session ids
 * included, is refused with PERMISSION_DENIED, so no object outlives its session.
 *
 * <p>Written on the scheduler thread (by {@link SharedLifecycle}, from what the scheduler
 * decides), read by the service's handlers on any thread.
 */
public final class SharedAccess {
    private record Run(long taskKey, int attempt) {}

    private record OnWorker(long stream, String worker, String session) {}

    private record WorkerSession(String worker, String session) {}

    private final Set<String> live = ConcurrentHashMap.newKeySet();
    private final Map<Run, OnWorker> running = new ConcurrentHashMap<>();
    /** How many of a session's tasks each worker runs, for calls from a worker's threads outside tasks. */
    private final Map<WorkerSession, Integer> counts = new ConcurrentHashMap<>();

    // ---- told by the scheduler thread

    /** The session exists (welcomed, or recovered from the journal). */
    public void sessionLive(String session) {
        live.add(session);
    }

    void sessionEnded(String session) {
        live.remove(session);
    }

    void assigned(long stream, String worker, long taskKey, int attempt, String session) {
        if (running.put(new Run(taskKey, attempt), new OnWorker(stream, worker, session)) == null) {
            counts.merge(new WorkerSession(worker, session), 1, Integer::sum);
        }
    }

    void ended(long stream, long taskKey, int attempt) {
        Run run = new Run(taskKey, attempt);
        OnWorker on = running.get(run);
        if (on != null && on.stream() == stream) {
            running.remove(run);
            counts.computeIfPresent(new WorkerSession(on.worker(), on.session()), (k, n) -> n == 1 ? null : n - 1);
        }
    }

    void streamEnded(long stream) {
        running.forEach((run, on) -> {
            if (on.stream() == stream) {
                ended(stream, run.taskKey(), run.attempt());
            }
        });
    }

    // ---- asked by the service

    /**
     * Null when the caller may act for {@code session} as {@code holder} (null: no holder, as
     * for Abandon); else why not. {@code role} is null when the coordinator takes no tokens.
     */
    Status refusal(String session, SharedHolder holder, Role role) {
        if (session.isEmpty()) {
            return denied("a shared-object call must name its session; this one named none");
        }
        if (!live.contains(session)) {
            return denied("no live session has the id '" + shorten(session) + "' here: shared objects belong to a"
                    + " session, and only its client and workers running its tasks may use them while it lasts");
        }
        if (holder == null) {
            return null;
        }
        String worker = holder.getWorkerId();
        if (worker.isEmpty()) {
            return role == Role.WORKER ? denied("a worker's shared-object call must name its worker and task") : null;
        }
        if (role == Role.CLIENT) {
            return denied("a client cannot act as worker '" + shorten(worker) + "' on shared objects");
        }
        if (holder.getTaskKey() != 0) {
            OnWorker on = running.get(new Run(holder.getTaskKey(), holder.getAttempt()));
            if (on == null || !on.worker().equals(worker) || !on.session().equals(session)) {
                return denied("task " + holder.getTaskKey() + " (attempt " + holder.getAttempt()
                        + ") is not running on worker '" + shorten(worker) + "' for this session");
            }
            return null;
        }
        if (!counts.containsKey(new WorkerSession(worker, session))) {
            return denied("worker '" + shorten(worker) + "' runs no task of this session: a worker may use a"
                    + " session's shared objects only while it runs one of its tasks");
        }
        return null;
    }

    private static Status denied(String why) {
        return Status.PERMISSION_DENIED.withDescription(why);
    }

    private static String shorten(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }
}
