package io.cohort.coordinator.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The queued tasks, in the order they are served. Not thread-safe.
 *
 * <p>Slot tasks: priority levels (highest first), each a round-robin ring of per-session
 * queues, each a few FIFO lanes, one per distinct {@link Demand}. A lane whose head cannot be
 * placed holds only tasks that cannot be placed either, so nothing else is blocked. Removal
 * from a lane is lazy: a cancelled task stays in its deque, no longer QUEUED, and is skipped
 * when it reaches the head; {@code Lane.live} counts the rest. Process tasks wait in one FIFO of
 * their own, skipped lazily likewise. Queued tasks are reachable from their session and lane
 * only, to keep per-task memory small.
 */
final class TaskQueue {
    /** Slot tasks by priority, highest first. */
    final TreeMap<Integer, Level> levels = new TreeMap<>(Comparator.reverseOrder());
    /** Lanes of tasks with a demand: their placement timeouts run (see UnfitClock). */
    final Set<Lane> constrainedLanes = new LinkedHashSet<>();
    /** Queued process tasks (TaskSpec.process), FIFO; ones no longer QUEUED are skipped lazily. */
    final ArrayDeque<Task> processQueue = new ArrayDeque<>();
    private final Step step;

    TaskQueue(Step step) {
        this.step = step;
    }

    /** Queues a task, at the front of its lane when it comes back from a worker. */
    void enqueue(Task t, boolean front) {
        step.dirty = true;
        if (t.isProcess()) {
            if (front) {
                processQueue.addFirst(t);
            } else {
                processQueue.addLast(t);
            }
            return;
        }
        ClientSession s = t.session;
        int priority = t.policy.getPriority();
        SessionQueue q = s.queues.get(priority);
        if (q == null) {
            Level level = levels.computeIfAbsent(priority, Level::new);
            q = new SessionQueue(s, level);
            level.ring.addLast(q);
            s.queues.put(priority, q);
        }
        Lane lane = q.lanes.get(t.demand);
        if (lane == null) {
            lane = new Lane(q, t.demand);
            q.lanes.put(t.demand, lane);
            if (!t.demand.isNone()) {
                constrainedLanes.add(lane);
            }
        }
        if (front) {
            lane.tasks.addFirst(t);
        } else {
            lane.tasks.addLast(t);
        }
        lane.live++;
    }

    /** Takes a QUEUED task out of its lane (lazily: it is skipped once no longer QUEUED). */
    void unqueue(Task t) {
        if (t.isProcess()) {
            return;   // skipped lazily in processQueue
        }
        SessionQueue q = t.session.queues.get(t.policy.getPriority());
        Lane lane = q.lanes.get(t.demand);
        if (--lane.live == 0) {
            dropLane(lane);
        }
    }

    /** Takes the head of a lane (found by {@link Lane#head}) to assign it. */
    void take(Lane lane) {
        lane.tasks.pollFirst();
        if (--lane.live == 0) {
            dropLane(lane);
        }
    }

    void dropLane(Lane lane) {
        SessionQueue q = lane.queue;
        q.lanes.remove(lane.demand);
        constrainedLanes.remove(lane);
        if (q.lanes.isEmpty()) {
            q.level.ring.remove(q);
            q.session.queues.remove(q.level.priority);
            if (q.level.ring.isEmpty()) {
                levels.remove(q.level.priority);
            }
        }
    }

    /** Drops every lane of a session that ends (its tasks are ended by the caller). */
    void dropSession(ClientSession s) {
        for (SessionQueue q : new ArrayList<>(s.queues.values())) {
            for (Lane lane : new ArrayList<>(q.lanes.values())) {
                dropLane(lane);
            }
        }
    }

    /** Checks the queue's own invariants for one open session's queued tasks; returns how many are queued. */
    long validate(ClientSession s) {
        long q = 0;
        for (Task t : s.live.values()) {
            if (t.state == TaskState.QUEUED && t.isProcess()) {
                q++;
                Scheduler.check(processQueue.contains(t), "queued process task not in the process queue");
            } else if (t.state == TaskState.QUEUED) {
                q++;
                SessionQueue sq = s.queues.get(t.policy.getPriority());
                Scheduler.check(sq != null && sq.lanes.get(t.demand) != null
                        && sq.lanes.get(t.demand).tasks.contains(t), "queued task not in its lane");
            }
        }
        for (Map.Entry<Integer, SessionQueue> e : s.queues.entrySet()) {
            SessionQueue sq = e.getValue();
            Scheduler.check(sq.level.priority == e.getKey() && levels.get(e.getKey()) == sq.level
                    && sq.level.ring.contains(sq), "session queue not in its level");
            Scheduler.check(!sq.lanes.isEmpty(), "empty session queue kept");
            for (Lane lane : sq.lanes.values()) {
                long live = lane.tasks.stream().filter(t -> t.state == TaskState.QUEUED).count();
                Scheduler.check(live == lane.live && live > 0, "lane live count " + lane.live + " but " + live + " queued");
                Scheduler.check(lane.demand.isNone() != constrainedLanes.contains(lane), "constrained lane registry");
            }
        }
        return q;
    }

    /** Checks the invariants that need no session: no empty level, only process tasks in the process queue. */
    void validate() {
        for (Level level : levels.values()) {
            Scheduler.check(!level.ring.isEmpty(), "empty level kept");
        }
        for (Task t : processQueue) {
            Scheduler.check(t.isProcess(), "a slot task in the process queue");
        }
    }

    static final class Level {
        final int priority;
        final ArrayDeque<SessionQueue> ring = new ArrayDeque<>();

        Level(int priority) {
            this.priority = priority;
        }
    }

    static final class SessionQueue {
        final ClientSession session;
        final Level level;
        final Map<Demand, Lane> lanes = new LinkedHashMap<>(2);

        SessionQueue(ClientSession session, Level level) {
            this.session = session;
            this.level = level;
        }
    }

    static final class Lane {
        final SessionQueue queue;
        final Demand demand;
        final ArrayDeque<Task> tasks = new ArrayDeque<>();
        int live;
        final UnfitClock unfit = new UnfitClock();

        Lane(SessionQueue queue, Demand demand) {
            this.queue = queue;
            this.demand = demand;
        }

        /** The first task still QUEUED, dropping cancelled ones before it. */
        Task head() {
            Task t = tasks.peekFirst();
            while (t != null && t.state != TaskState.QUEUED) {
                tasks.pollFirst();
                t = tasks.peekFirst();
            }
            return t;
        }
    }
}
