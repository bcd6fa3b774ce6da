package io.cohort.coordinator.watch;

import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.coordinator.core.TaskState;
import io.cohort.coordinator.core.Transitions;
import io.cohort.coordinator.server.SchedulerLoop;
import io.cohort.proto.v1.TaskStatus;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * What the scheduler's thread does for metrics and the dashboard, and nothing more: it bumps
 * exact counters, writes transitions and timings into rings, and queues the rare cluster events
 * (workers coming and going, sessions ending, failures). {@link ClusterView} reads all of it on
 * a thread of its own; nothing here scans tasks or waits.
 *
 * <p>Writes: the scheduler's thread only. Reads: any thread.
 */
public final class Recorder implements Transitions, SchedulerLoop.Observer {
    /** Failures waiting for the view beyond this are dropped (counted): a job failing every task must not pile them up. */
    static final int PENDING_FAILURES = 256;
    /** Transitions the view may fall behind by before it loses some (at about 5 per task). */
    public static final int RING = 1 << 17;

    /** A cluster event for the view, in the order the scheduler made them. */
    sealed interface Notice {
        record Welcomed(long stream, String workerId) implements Notice {}

        record Attached(long stream, String host, long pid, int slots, boolean draining) implements Notice {}

        record Draining(long stream) implements Notice {}

        record DrainAsked(String workerId) implements Notice {}

        record Gone(long stream, String reason) implements Notice {}

        record SessionEnded(String sessionId) implements Notice {}

        record Failed(long nanos, long taskKey, int attempt, io.cohort.proto.v1.TaskError error) implements Notice {}
    }

    private final LongSupplier nanoClock;
    private final AtomicLongArray counts = new AtomicLongArray(TaskCount.values().length);
    final TransitionRing transitions;
    final SampleRing runTimes;
    final SampleRing journalCommits;
    final ConcurrentLinkedQueue<Notice> notices = new ConcurrentLinkedQueue<>();
    final AtomicInteger pendingFailures = new AtomicInteger();
    private volatile long droppedFailures;

    public Recorder(LongSupplier nanoClock, int ringCapacity) {
        this.nanoClock = nanoClock;
        this.transitions = new TransitionRing(ringCapacity);
        this.runTimes = new SampleRing(ringCapacity);
        this.journalCommits = new SampleRing(1024);
    }

    /** The count now (any thread). */
    long get(TaskCount c) {
        return counts.get(c.ordinal());
    }

    /** Failures not shown because the view was behind (any thread; approximate). */
    long droppedFailures() {
        return droppedFailures;
    }

    private void add(TaskCount c, long delta) {
        int i = c.ordinal();
        counts.setRelease(i, counts.getPlain(i) + delta);   // one writer: no read-modify-write needed
    }

    @Override
    public void moved(long taskKey, int attempt, TaskState from, TaskState to, String why, String worker,
                      String sessionId, String clientName) {
        transitions.put(nanoClock.getAsLong(), taskKey, attempt, from, to, why, worker, sessionId, clientName);
        level(from, -1);
        level(to, 1);
        if (from == TaskState.NEW) {
            add(TaskCount.SUBMITTED, 1);
        }
        // A result may come without a started notice (one message said both): it ran all the same.
        if (to == TaskState.RUNNING || (from == TaskState.ASSIGNED
                && (to == TaskState.SUCCEEDED || to == TaskState.FAILED || to == TaskState.TIMED_OUT))) {
            add(TaskCount.STARTED, 1);
        }
        if (from == TaskState.RUNNING && to == TaskState.QUEUED) {
            add(TaskCount.RETRIED, 1);   // only a running task's loss counts; an unstarted one handed back is no retry
        }
        switch (to) {
            case SUCCEEDED -> add(TaskCount.SUCCEEDED, 1);
            case FAILED -> add(TaskCount.FAILED, 1);
            case WORKER_LOST -> add(TaskCount.WORKER_LOST, 1);
            case CANCELLED -> add(TaskCount.CANCELLED, 1);
            case TIMED_OUT -> add(TaskCount.TIMED_OUT, 1);
            case REJECTED -> add(TaskCount.REJECTED, 1);
            default -> { }
        }
    }

    private void level(TaskState s, int delta) {
        switch (s) {
            case QUEUED -> add(TaskCount.QUEUED, delta);
            case ASSIGNED -> add(TaskCount.ASSIGNED, delta);
            case RUNNING -> add(TaskCount.RUNNING, delta);
            default -> { }
        }
    }

    @Override
    public void event(Event e) {
        if (e instanceof Event.TaskEnded t) {
            long run = t.result().getRunNanos();
            if (run > 0) {
                runTimes.put(run);
            }
            if (t.result().getStatus() == TaskStatus.FAILED && t.result().hasError()) {
                if (pendingFailures.incrementAndGet() <= PENDING_FAILURES) {
                    notices.add(new Notice.Failed(nanoClock.getAsLong(), t.result().getTaskKey(), t.result().getAttempt(),
                            t.result().getError()));
                } else {
                    pendingFailures.decrementAndGet();
                    droppedFailures++;
                }
            }
        } else if (e instanceof Event.WorkerAttached a) {
            notices.add(new Notice.Attached(a.stream(), a.host(), a.pid(), a.slots(), a.draining()));
        } else if (e instanceof Event.WorkerDraining d) {
            notices.add(new Notice.Draining(d.stream()));
        } else if (e instanceof Event.AdminDrain d) {
            notices.add(new Notice.DrainAsked(d.workerId()));
        } else if (e instanceof Event.WorkerLost l) {
            notices.add(new Notice.Gone(l.stream(), l.reason()));
        }
    }

    @Override
    public void command(Command c) {
        if (c instanceof Command.WelcomeWorker w) {
            notices.add(new Notice.Welcomed(w.stream(), w.workerId()));
        } else if (c instanceof Command.CloseStream x) {
            notices.add(new Notice.Gone(x.stream(), x.message()));   // the view ignores streams that are not workers'
        } else if (c instanceof Command.SessionEnded s) {
            notices.add(new Notice.SessionEnded(s.sessionId()));
        }
    }

    @Override
    public void journalCommitted(long nanos) {
        journalCommits.put(nanos);
    }
}
