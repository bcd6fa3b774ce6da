package io.cohort.coordinator.core;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Prefetch without head-of-line blocking: which tasks prefetched to a worker to ask back
 * ({@code TaskCancelOrder.reclaim}) so that an idle worker can run them. The holder answers
 * RETURNED for a task it has not started (queued again, no attempt counted) and runs one it has,
 * so each task starts once; until the answer comes the task keeps its place and credit there.
 *
 * <p>When: a worker has free slots the queue could not fill, while another holds tasks beyond
 * the ones its slots run now, behind tasks that are not about to end. A slot's task is about to
 * end while its function is not known to run longer than the prefetch budget and it has held
 * the slot less than {@link #STALL_MS}: so adaptive prefetch's deep queues of short tasks are
 * left alone (two busy workers never trade them back and forth), while a task known to be
 * long, or one that blocks, lets an idle worker take what waits behind it.
 *
 * <p>Which: the last queued on such a worker (the ones it would start last), each fitting an
 * idle worker, at most as many as the idle workers' free slots less the reclaims still
 * unanswered. Free of I/O and clocks, like the scheduler that calls it.
 */
final class Reclaims {
    /**
     * How long a task of a short (or not yet measured) function may hold a slot before what
     * waits behind it is moved. The coordinator's clock moves in 100 ms ticks, so 200 ms of
     * ticks is at least 100 ms of real time: far beyond any task adaptive prefetch queues deeply.
     */
    static final long STALL_MS = 200;

    /** A task on a worker, as reclaiming sees it. */
    interface Held {
        /** Runs in a slot (not a process task). */
        boolean holdsSlot();

        /** Assigned and not reported started, not placed as a suspect, and not asked back already. */
        boolean mayReclaim();

        /** When it was assigned, or when it started once it has. */
        long since();

        Demand demand();
    }

    /** A worker holding tasks, as reclaiming sees it. */
    interface Holder<T extends Held> {
        int slots();

        boolean accepting();

        /** Its unfinished tasks in the order they were assigned, which is the order it starts them. */
        Iterable<T> held();

        /** Its unfinished slot tasks. */
        int slotTasks();

        /** When one of its slot tasks last started, or ended after running. */
        long progressAt();
    }

    private int unanswered;

    /**
     * The tasks to ask back now, last queued first. {@code inLoadOrder} is the workers that may
     * take tasks, least loaded first (the idle ones, with fewer slot tasks than slots, lead).
     */
    <T extends Held> List<T> choose(Iterable<? extends Holder<T>> holders,
                                    Iterable<? extends Placement.Candidate> inLoadOrder,
                                    ToLongFunction<T> estimateNanos, long now) {
        if (!anyIdle(inLoadOrder)) {
            return List.of();
        }
        List<Placement.Candidate> idle = new ArrayList<>(2);
        int room = -unanswered;
        for (Placement.Candidate w : inLoadOrder) {
            if (w.unfinished() >= w.slots()) {
                break;
            }
            idle.add(w);
            room += w.slots() - w.unfinished();
        }
        if (room <= 0) {
            return List.of();
        }
        List<T> chosen = new ArrayList<>(Math.min(room, 4));
        for (Holder<T> h : holders) {
            if (h.accepting() && h.slotTasks() > h.slots() && stalled(h, estimateNanos, now)) {
                room = takeLast(h, idle, room, chosen);
                if (room == 0) {
                    break;
                }
            }
        }
        return chosen;
    }

    /**
     * Whether none of the tasks its slots run now, or start now, is about to end ({@code
     * estimateNanos}: its function's estimated run time, 0 when unknown). A task has held its
     * slot since it started, or since the slot's last task ended if it waited behind that one.
     */
    private static <T extends Held> boolean stalled(Holder<T> h, ToLongFunction<T> estimateNanos, long now) {
        int seen = 0;
        for (T t : h.held()) {
            if (!t.holdsSlot()) {
                continue;
            }
            long heldSince = Math.max(t.since(), h.progressAt());
            if (estimateNanos.applyAsLong(t) <= Scheduler.PREFETCH_BUDGET_NANOS && now - heldSince < STALL_MS) {
                return false;
            }
            if (++seen == h.slots()) {
                return true;
            }
        }
        return true;
    }

    /** Adds the last queued tasks of {@code h} that an idle worker could run; returns the room left. */
    private static <T extends Held> int takeLast(Holder<T> h, List<Placement.Candidate> idle, int room, List<T> chosen) {
        List<T> queued = new ArrayList<>(h.slotTasks());
        int skip = h.slots();   // the ones its slots run or start now
        for (T t : h.held()) {
            if (t.holdsSlot() && skip-- <= 0) {
                queued.add(t);
            }
        }
        for (int i = queued.size() - 1; i >= 0 && room > 0; i--) {
            T t = queued.get(i);
            if (t.mayReclaim() && fitsSome(t.demand(), idle)) {
                chosen.add(t);
                room--;
            }
        }
        return room;
    }

    private static boolean fitsSome(Demand demand, List<Placement.Candidate> idle) {
        for (Placement.Candidate w : idle) {
            if (Placement.fitsNow(demand, w)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a reclaim could be wanted as time passes: some worker has a free slot. */
    static boolean anyIdle(Iterable<? extends Placement.Candidate> inLoadOrder) {
        Iterator<? extends Placement.Candidate> it = inLoadOrder.iterator();
        if (!it.hasNext()) {
            return false;
        }
        Placement.Candidate first = it.next();
        return first.unfinished() < first.slots();
    }

    void asked() {
        unanswered++;
    }

    /** The holder answered (returned it, or reported it started or ended), or was lost. */
    void answered() {
        unanswered--;
    }

    /** Reclaims asked and not answered. */
    int unanswered() {
        return unanswered;
    }
}
