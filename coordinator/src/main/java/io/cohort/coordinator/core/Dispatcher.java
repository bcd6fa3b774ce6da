package io.cohort.coordinator.core;

import java.util.ArrayList;
import java.util.Iterator;

/**
 * Matches queued tasks with workers when something changed: process tasks first (they hold no
 * slot), then slot tasks by priority, round-robin over the sessions that take their results,
 * the earliest submitted head among a session's lanes that a worker may take now. Then asks
 * back prefetched tasks for workers left idle. Not thread-safe.
 */
final class Dispatcher {
    private final TaskLedger ledger;
    private final SessionTable sessions;
    private final TaskQueue queue;
    private final WorkerPool pool;

    Dispatcher(TaskLedger ledger, SessionTable sessions, TaskQueue queue, WorkerPool pool) {
        this.ledger = ledger;
        this.sessions = sessions;
        this.queue = queue;
        this.pool = pool;
    }

    /** Assigns what can be assigned now: by priority, round-robin over sessions, FIFO in each. */
    void dispatch() {
        pool.creditStarved = false;
        if (pool.holdExtendedCredit) {
            pool.holdExtendedCredit = anyHeadStarvedOfCredit();
        }
        pool.unreserveUnlessSuspects(ledger.queuedSuspects);
        dispatchProcesses();
        for (TaskQueue.Level level : new ArrayList<>(queue.levels.values())) {
            int misses = 0;
            while (pool.canPlace() && !level.ring.isEmpty() && misses < level.ring.size()) {
                TaskQueue.SessionQueue q = level.ring.pollFirst();
                level.ring.addLast(q);
                if (sessions.stalled(q.session)) {
                    misses++;   // it is not taking its results: start no more of its tasks until it does
                    continue;
                }
                TaskQueue.Lane lane = null;
                WorkerNode worker = null;
                Task head = null;
                for (TaskQueue.Lane l : q.lanes.values()) {
                    Task h = l.head();
                    if (head != null && h.key > head.key) {
                        continue;
                    }
                    WorkerNode w = h.suspect() ? pool.emptyWorker(l.demand) : pool.placeFor(h, l.demand);
                    if (w != null) {
                        lane = l;
                        worker = w;
                        head = h;
                    }
                }
                if (lane == null) {
                    misses++;
                    if (!pool.creditStarved) {
                        pool.creditStarved = q.lanes.values().stream().anyMatch(l -> pool.starvedOfCredit(l.head(), l.demand));
                    }
                    continue;
                }
                misses = 0;
                queue.take(lane);
                pool.assign(head, worker);
            }
            if (!pool.canPlace()) {
                break;
            }
        }
        pool.holdExtendedCredit |= pool.creditStarved;
        pool.reclaimForIdleWorkers();
    }

    private boolean anyHeadStarvedOfCredit() {
        for (TaskQueue.Level level : queue.levels.values()) {
            for (TaskQueue.SessionQueue q : level.ring) {
                for (TaskQueue.Lane l : q.lanes.values()) {
                    if (pool.starvedOfCredit(l.head(), l.demand)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** Process tasks hold no slot: each goes where {@link WorkerPool#forProcess} finds room now. */
    private void dispatchProcesses() {
        for (Iterator<Task> it = queue.processQueue.iterator(); it.hasNext(); ) {
            Task t = it.next();
            if (t.state != TaskState.QUEUED) {
                it.remove();
                continue;
            }
            WorkerNode best = pool.forProcess(t.demand);
            if (best != null) {
                it.remove();
                pool.assign(t, best);
            }
        }
    }
}
