package io.cohort.coordinator.core;

/**
 * Every task's moves between states: checked against {@link TaskState}'s table, recorded in a
 * bounded {@link Story}, and counted (queued, on workers, completed). Not thread-safe.
 */
final class TaskLedger {
    private static final int STORY_ENTRIES = 1 << 16;

    private final Story story = new Story(STORY_ENTRIES);
    private final Step step;
    long queued;
    /** Queued slot tasks that were running when a worker was lost (they run alone: see WorkerPool#emptyWorker). */
    long queuedSuspects;
    long running;
    /** Ended, failed and retried tasks and the rate they end at, for the status. */
    final Tally tally = new Tally();
    /** Told of every move (metrics, the dashboard). */
    Transitions transitions = Transitions.NONE;

    TaskLedger(Step step) {
        this.step = step;
    }

    void move(Task t, TaskState to, String why, String worker) {
        if (!TaskState.allowed(t.state, to)) {
            throw new IllegalStateException("illegal transition " + t.state + " -> " + to + " (" + why + ") of "
                    + t.describe() + " (key " + t.key + "); its story:\n  " + String.join("\n  ", story.of(t.key)));
        }
        story.record(step.now, t.key, t.attempt, t.state, to, why, worker);
        transitions.moved(t.key, t.attempt, t.state, to, why, worker != null ? worker : t.worker == null ? null : t.worker.id,
                t.session.id, t.session.clientName);
        if (t.suspect()) {
            queuedSuspects += (to == TaskState.QUEUED ? 1 : 0) - (t.state == TaskState.QUEUED ? 1 : 0);
        }
        count(t.state, -1);
        count(to, 1);
        t.state = to;
    }

    private void count(TaskState s, int delta) {
        if (s == TaskState.QUEUED) {
            queued += delta;
        } else if (s.onWorker()) {
            running += delta;
        } else if (s.done() && delta > 0) {
            tally.ended(s, step.now);
        }
    }

    java.util.List<String> story(long taskKey) {
        return story.of(taskKey);
    }
}
