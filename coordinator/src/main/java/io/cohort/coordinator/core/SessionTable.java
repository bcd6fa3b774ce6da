package io.cohort.coordinator.core;

import io.cohort.proto.v1.TaskResult;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The open client sessions (with a stream, or waiting to be resumed), their ids, and what
 * their unanswered tasks hold against the {@link Budgets}. Not thread-safe.
 */
final class SessionTable {
    /** Sessions with a stream, by stream. */
    private final Map<Long, ClientSession> byStream = new HashMap<>();
    /** Every open session (with a stream or waiting to be resumed), by id. */
    private final Map<String, ClientSession> byId = new HashMap<>();
    /** Sessions waiting to be resumed, oldest first. */
    private final LinkedHashMap<String, ClientSession> detached = new LinkedHashMap<>();
    /** What sessions may hold here. */
    final Budgets budgets;
    /** Random bits for session ids (unguessable in a server: whoever holds an id owns the session). */
    private final LongSupplier idBits;
    /** Encoded bytes of all unanswered tasks (what {@link Budgets#taskBytes} bounds). */
    long taskBytes;
    /** Definitions no task uses that a session keeps (more are dropped, longest idle first). */
    int idleFunctionsPerSession = Scheduler.DEFAULT_IDLE_FUNCTIONS_PER_SESSION;

    SessionTable(Budgets budgets, LongSupplier idBits) {
        this.budgets = budgets;
        this.idBits = idBits;
    }

    ClientSession byStream(long stream) {
        return byStream.get(stream);
    }

    ClientSession byId(String id) {
        return byId.get(id);
    }

    int size() {
        return byId.size();
    }

    Iterable<ClientSession> all() {
        return byId.values();
    }

    Iterable<ClientSession> detached() {
        return detached.values();
    }

    /** The session waiting longest to be resumed, or null. */
    ClientSession oldestDetached() {
        return detached.isEmpty() ? null : detached.values().iterator().next();
    }

    /** A new session on a stream, under a new id. */
    ClientSession open(long stream, String clientName) {
        ClientSession s = new ClientSession(stream, newId(), clientName, idleFunctionsPerSession);
        byStream.put(stream, s);
        byId.put(s.id, s);
        return s;
    }

    /** A session of an earlier run, taken up from the journal: it waits to be resumed. */
    ClientSession recover(String id, String clientName, long now) {
        ClientSession s = new ClientSession(ClientSession.DETACHED, id, clientName, idleFunctionsPerSession);
        s.detachedAt = now;
        byId.put(id, s);
        detached.put(id, s);
        return s;
    }

    /** Random: a session's id is all a client needs to take it up again. */
    private String newId() {
        String id;
        do {
            id = "s-" + Long.toUnsignedString(idBits.getAsLong(), 36) + Long.toUnsignedString(idBits.getAsLong(), 36);
        } while (byId.containsKey(id));
        return id;
    }

    /** A detached session is taken up on a new stream. */
    void resume(ClientSession s, long stream) {
        detached.remove(s.id);
        s.stream = stream;
        s.resumed = true;
        byStream.put(s.stream, s);
    }

    /** The session's stream is gone: its tasks carry on and its results are held, for the grace period. */
    void detach(ClientSession s, long now) {
        byStream.remove(s.stream);
        s.stream = ClientSession.DETACHED;
        s.backedUp = false;   // held results count instead, until a new stream reads them
        s.detachedAt = now;
        s.answeredOnResume.clear();
        detached.put(s.id, s);
    }

    /** The session ends: it is forgotten, and so are its held results. */
    void close(ClientSession s) {
        if (s.attached()) {
            byStream.remove(s.stream);
        }
        byId.remove(s.id);
        detached.remove(s.id);
        s.closed = true;
        s.dropHeld();
    }

    /** Whether its results are not being taken: start no more of its tasks until they are. */
    boolean stalled(ClientSession s) {
        return s.backedUp || s.heldBytes >= budgets.heldBytesPerClient();
    }

    /** Why {@code t} would take its session or the coordinator past a budget; null if it would not. */
    String overBudget(ClientSession s, Task t) {
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
    void admit(Task t) {
        t.session.live.put(t.taskId, t);
        t.session.taskBytes += t.bytes;
        taskBytes += t.bytes;
    }

    /** {@code t} is answered: no longer counted. False if it was not unanswered (the caller then keeps its function's use). */
    boolean retire(Task t) {
        if (!t.session.live.remove(t.taskId, t)) {
            return false;
        }
        t.session.taskBytes -= t.bytes;
        taskBytes -= t.bytes;
        return true;
    }

    /** Function definitions held by every session together. */
    long functions() {
        long functions = 0;
        for (ClientSession s : byId.values()) {
            functions += s.functions.size();
        }
        return functions;
    }

    /** Checks the table's own invariants; returns the bytes of the open sessions' unanswered tasks. */
    long validate() {
        long unanswered = 0;
        Scheduler.check(byId.size() == byStream.size() + detached.size(), "session maps: " + byId.size()
                + " open, " + byStream.size() + " with a stream, " + detached.size() + " waiting");
        for (ClientSession s : byId.values()) {
            Scheduler.check(!s.closed, "open session marked closed");
            long sessionBytes = s.live.values().stream().mapToLong(t -> t.bytes).sum();
            Scheduler.check(sessionBytes == s.taskBytes, "session " + s.id + " counts " + s.taskBytes
                    + " task bytes, has " + sessionBytes);
            Scheduler.check(s.held.stream().mapToLong(TaskResult::getSerializedSize).sum() == s.heldBytes,
                    "held bytes of " + s.id);
            unanswered += sessionBytes;
            Scheduler.check(s.attached() ? byStream.get(s.stream) == s && s.held.isEmpty() : detached.get(s.id) == s,
                    "session " + s.id + " in the wrong map");
            Scheduler.check(s.functions.liveUses() == s.live.values().stream().filter(t -> t.function != null).count(),
                    "session " + s.id + "'s functions count " + s.functions.liveUses() + " uses by live tasks");
            for (Map.Entry<Long, Task> e : s.live.entrySet()) {
                Task t = e.getValue();
                Scheduler.check(t.function == null || s.functions.contains(t.function.getDigest()),
                        "a live task's function was dropped");
                Scheduler.check(t.taskId == e.getKey() && t.session == s, "session map entry mismatch");
                Scheduler.check(!t.state.done() && t.state != TaskState.NEW, "live task in state " + t.state);
            }
        }
        return unanswered;
    }
}
