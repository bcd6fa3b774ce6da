package io.cohort.coordinator.core;

import io.cohort.proto.v1.TaskResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One client session as the scheduler holds it: its unanswered tasks, functions and held results. */
final class ClientSession {
    static final long DETACHED = -1;
    /** Its stream, or DETACHED while it waits to be resumed. */
    long stream;
    final String id;
    final String clientName;
    final Map<Long, Task> live = new HashMap<>();
    final FunctionTable functions;
    /** Its queued slot tasks by priority (see TaskQueue). */
    final Map<Integer, TaskQueue.SessionQueue> queues = new HashMap<>(2);
    boolean closed;
    long detachedAt;
    /** Results that came while it had no stream, oldest first. */
    final List<TaskResult> held = new ArrayList<>(0);
    /** The encoded size of {@link #held}. */
    long heldBytes;
    /** Encoded bytes of its unanswered tasks. */
    long taskBytes;
    /** Its stream has more results unwritten than {@link Budgets#heldBytesPerClient}: it is not reading. */
    boolean backedUp;
    /** Resumed at least once: tasks it sends again are expected, not a client's mistake. */
    boolean resumed;
    /** Task ids answered from {@link #held} on the last resume, so that sending them again is a no-op. */
    final Set<Long> answeredOnResume = new HashSet<>(0);

    ClientSession(long stream, String id, String clientName, int idleFunctions) {
        this.stream = stream;
        this.id = id;
        this.clientName = clientName;
        this.functions = new FunctionTable(idleFunctions);
    }

    boolean attached() {
        return stream != DETACHED;
    }

    /** Keeps a result for when the client comes back. */
    void hold(TaskResult r) {
        held.add(r);
        heldBytes += r.getSerializedSize();
    }

    void dropHeld() {
        held.clear();
        heldBytes = 0;
    }
}
