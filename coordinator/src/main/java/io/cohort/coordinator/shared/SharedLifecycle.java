package io.cohort.coordinator.shared;

import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.coordinator.server.SchedulerLoop;
import java.util.HashMap;
import java.util.Map;

/**
 * Tells the {@link SharedStore} when task attempts, workers and sessions end, from what the
 * scheduler hears and decides. Runs on the scheduler thread only; it learns which worker a stream
 * is from the scheduler's welcome.
 */
public final class SharedLifecycle implements SchedulerLoop.Observer {
    private final SharedStore store;
    private final Map<Long, String> workers = new HashMap<>();

    public SharedLifecycle(SharedStore store) {
        this.store = store;
    }

    @Override
    public void event(Event e) {
        if (e instanceof Event.TaskEnded t) {
            store.taskEnded(t.result().getTaskKey(), t.result().getAttempt());
        } else if (e instanceof Event.WorkerLost l) {
            streamEnded(l.stream());
        }
    }

    @Override
    public void command(Command c) {
        if (c instanceof Command.SessionEnded s) {
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
            store.workerLost(worker);
        }
    }
}
