package io.cohort.coordinator.shared;

import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.coordinator.server.SchedulerLoop;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * Tells the {@link SharedStore} when task attempts, workers and sessions end, and the
 * {@link SharedAccess} which sessions live and which worker runs which session's tasks, from
 * what the scheduler hears and decides. Runs on the scheduler thread only; it learns which
 * worker a stream is from the scheduler's welcome.
 */
public final class SharedLifecycle implements SchedulerLoop.Observer {
    private final SharedStore store;
    private final SharedAccess access;
    /** The scheduler's session of a task on a worker (a query on the scheduler thread). */
    private final LongFunction<String> sessionOfTask;
    private final Map<Long, String> workers = new HashMap<>();

    public SharedLifecycle(SharedStore store, SharedAccess access, LongFunction<String> sessionOfTask) {
        this.store = store;
        this.access = access;
        this.sessionOfTask = sessionOfTask;
    }

    @Override
    public void event(Event e) {
        if (e instanceof Event.TaskEnded t) {
            access.ended(t.stream(), t.result().getTaskKey(), t.result().getAttempt());
            store.taskEnded(t.result().getTaskKey(), t.result().getAttempt());
        } else if (e instanceof Event.WorkerLost l) {
            streamEnded(l.stream());
        }
    }

    @Override
    public void command(Command c) {
        if (c instanceof Command.Assign a) {
            String session = sessionOfTask.apply(a.assign().getTaskKey());
            if (session != null) {
                access.assigned(a.stream(), a.workerId(), a.assign().getTaskKey(), a.assign().getAttempt(), session);
            }
        } else if (c instanceof Command.WelcomeClient w) {
            access.sessionLive(w.sessionId());
        } else if (c instanceof Command.SessionEnded s) {
            // Refused first, then deleted: no object can be opened in between (SharedStore.open).
            access.sessionEnded(s.sessionId());
            store.sessionEnded(s.sessionId());   // not at a broken stream: the session may be resumed
        } else if (c instanceof Command.WelcomeWorker w) {
            workers.put(w.stream(), w.workerId());
        } else if (c instanceof Command.CloseStream x) {
            streamEnded(x.stream());   // the scheduler dropped it (heartbeat timeout, protocol violation)
        }
    }

    private void streamEnded(long stream) {
        String worker = workers.remove(stream);
        if (worker != null) {
            access.streamEnded(stream);
            store.workerLost(worker);
        }
    }
}
