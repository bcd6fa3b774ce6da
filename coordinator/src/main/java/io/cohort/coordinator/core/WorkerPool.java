package io.cohort.coordinator.core;

import com.google.protobuf.ByteString;
import io.cohort.coordinator.core.Command.CloseCode;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.WorkerStatus;
import io.cohort.proto.v1.WorkerStatusState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The attached workers and the tasks they hold: who may take a task now (slots, credit and
 * adaptive prefetch, suspects that run alone), the bookkeeping of assigning and releasing, and
 * reclaims of prefetched tasks for idle workers. Not thread-safe.
 *
 * <p>The common lane (no demand) takes the least loaded worker from a sorted set in O(log W);
 * remove a worker from that set before changing its load.
 */
final class WorkerPool {
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());
    private static final int LOST_WORKERS_KEPT = 100;
    private static final int WORKERS_IN_MESSAGES = 10;

    private final Step step;
    private final TaskLedger ledger;
    private final long heartbeatTimeoutMs;
    private final RunTimes runTimes = new RunTimes();
    /** Prefetched tasks asked back for idle workers. */
    private final Reclaims reclaims = new Reclaims();
    private final Map<Long, WorkerNode> byStream = new HashMap<>();
    /** Attached workers in attach order. */
    final Map<String, WorkerNode> workers = new LinkedHashMap<>();
    /** Accepting workers with credit, least loaded first. Remove before changing a worker's load. */
    final TreeSet<WorkerNode> available = new TreeSet<>(Placement.LEAST_LOADED);
    /** Workers kept from new tasks until they are empty, for a queued suspect (see emptyWorker). */
    private final Set<WorkerNode> reserved = new LinkedHashSet<>(2);
    /** Recently lost workers, oldest first. */
    private final LinkedHashMap<String, WorkerStatus> lost = new LinkedHashMap<>();
    /** Tasks assigned or running, by key. */
    final Map<Long, Task> onWorkers = new HashMap<>();
    private long nextWorkerNumber = 1;
    /**
     * A queued task that may not use adaptive prefetch found no worker for want of base credit,
     * in this dispatch ({@code creditStarved}) or an earlier one ({@code holdExtendedCredit},
     * checked again at each dispatch): until it is placed, nobody is sent tasks beyond base
     * credit, so deep queues of short tasks drain and cannot starve it.
     */
    boolean creditStarved;
    boolean holdExtendedCredit;

    WorkerPool(Step step, TaskLedger ledger, long heartbeatTimeoutMs) {
        this.step = step;
        this.ledger = ledger;
        this.heartbeatTimeoutMs = heartbeatTimeoutMs;
    }

    WorkerNode byStream(long stream) {
        return byStream.get(stream);
    }

    WorkerNode byId(String id) {
        return workers.get(id);
    }

    // ---- attach, drain, loss

    void attach(Event.WorkerAttached e) {
        if (byStream.containsKey(e.stream())) {
            return;
        }
        String problem = null;
        if (e.slots() < 1) {
            problem = "a worker needs at least 1 slot, not " + Integer.toUnsignedString(e.slots());
        } else if (e.prefetch() < 0) {
            problem = "prefetch is too large: " + Integer.toUnsignedString(e.prefetch());
        } else if ((long) e.slots() + e.prefetch() > Integer.MAX_VALUE) {
            // its credit would overflow to a negative number: attached, but never sent a task
            problem = "slots + prefetch is too large: " + e.slots() + " + " + e.prefetch();
        } else if (e.maxPrefetch() < 0 || (long) e.slots() + e.maxPrefetch() > Integer.MAX_VALUE) {
            problem = "slots + max_prefetch is too large: " + e.slots() + " + " + Integer.toUnsignedString(e.maxPrefetch());
        } else {
            for (Map.Entry<String, Double> r : e.resources().entrySet()) {
                if (!(r.getValue() >= 0) || r.getValue().isInfinite()) {
                    problem = "resource " + r.getKey() + " must be a finite amount >= 0, not " + r.getValue();
                }
            }
        }
        if (problem != null) {
            step.emit(new Command.CloseStream(e.stream(), CloseCode.INVALID_ARGUMENT, problem));
            return;
        }
        String id = e.requestedId();
        if (id.isEmpty()) {
            do {
                id = "w-" + nextWorkerNumber++;
            } while (workers.containsKey(id) || lost.containsKey(id));
        } else if (workers.containsKey(id)) {
            step.emit(new Command.CloseStream(e.stream(), CloseCode.ALREADY_EXISTS,
                    "a worker with id " + id + " is already attached"));
            return;
        }
        lost.remove(id);
        WorkerNode w = new WorkerNode(e.stream(), id, e, step.now);
        byStream.put(w.stream, w);
        workers.put(id, w);
        step.emit(new Command.WelcomeWorker(w.stream, id, (int) Math.min(Integer.MAX_VALUE, heartbeatTimeoutMs)));
        if (w.offers()) {
            available.add(w);
            step.dirty = true;
        }
        LOG.log(System.Logger.Level.INFO, "worker {0} attached: {1} slots, host {2}, pid {3}", id, w.slots, w.host,
                String.valueOf(w.pid));
    }

    void heard(long stream) {
        WorkerNode w = byStream.get(stream);
        if (w != null) {
            w.lastHeard = step.now;
        }
    }

    void drain(WorkerNode w, String why) {
        if (!w.draining) {
            LOG.log(System.Logger.Level.INFO, "worker {0} draining: {1}", w.id, why);
            available.remove(w);
            w.draining = true;
            unreserve(w);
        }
    }

    private void unreserve(WorkerNode w) {
        if (reserved.remove(w)) {
            w.reserved = false;
            if (w.offers()) {
                available.add(w);
                step.dirty = true;
            }
        }
    }

    /** Frees the workers reserved for suspects once no suspect is queued. */
    void unreserveUnlessSuspects(long queuedSuspects) {
        if (queuedSuspects == 0 && !reserved.isEmpty()) {
            new ArrayList<>(reserved).forEach(this::unreserve);   // the suspects they waited for are gone
        }
    }

    /** Takes a lost worker out; returns its unfinished tasks, which the caller releases, then {@link #remember}s it. */
    List<Task> remove(WorkerNode w, String reason) {
        if (w.draining && w.unfinished.isEmpty() && Event.WorkerLost.STREAM_ENDED.equals(reason)) {
            LOG.log(System.Logger.Level.INFO, "worker {0} drained", w.id);
        } else {
            LOG.log(System.Logger.Level.WARNING, "worker {0} lost: {1}", w.id, reason);
        }
        available.remove(w);
        reserved.remove(w);
        w.lost = true;
        byStream.remove(w.stream);
        workers.remove(w.id);
        return new ArrayList<>(w.unfinished);
    }

    /** Keeps a lost worker's final status for a while (the status shows recent losses). */
    void remember(WorkerNode w) {
        lost.put(w.id, w.status(WorkerStatusState.LOST, step.now));
        if (lost.size() > LOST_WORKERS_KEPT) {
            lost.remove(lost.keySet().iterator().next());
        }
    }

    /** Workers heard from no later than the heartbeat timeout ago, in attach order. */
    List<WorkerNode> silent() {
        List<WorkerNode> silent = new ArrayList<>(0);
        for (WorkerNode w : workers.values()) {
            if (step.now - w.lastHeard >= heartbeatTimeoutMs) {
                silent.add(w);
            }
        }
        return silent;
    }

    boolean isEmpty() {
        return workers.isEmpty();
    }

    boolean fitsSomeWorker(Demand demand) {
        return workers.values().stream().anyMatch(w -> w.accepting() && Placement.fitsEver(demand, w));
    }

    /** What the attached workers offer, for a rejection's message. */
    String offers() {
        StringBuilder offers = new StringBuilder();
        int shown = 0;
        for (WorkerNode w : workers.values()) {
            if (shown++ == WORKERS_IN_MESSAGES) {
                offers.append("; ...");
                break;
            }
            offers.append(shown > 1 ? "; " : "").append(w.id).append(w.draining ? " (draining)" : "")
                    .append(" offers resources ").append(new TreeMap<>(w.totals)).append(" and labels ")
                    .append(new TreeSet<>(w.labels));
        }
        return offers.toString();
    }

    // ---- who may take a task

    /**
     * The least loaded worker that may take the task now. The common lane's answer is usually
     * the first of {@code available}; it is not when that worker is past its base credit and
     * the task is not known to be short (see {@link #creditFor}).
     */
    WorkerNode placeFor(Task t, Demand demand) {
        if (demand.isNone() && !available.isEmpty() && creditFor(t, available.first())) {
            return available.first();
        }
        for (WorkerNode w : available) {
            if (creditFor(t, w) && Placement.fitsIgnoringCredit(demand, w)) {
                return w;
            }
        }
        return null;
    }

    /**
     * Whether the worker's credit allows one more task like {@code t}. Within slots + prefetch
     * any task fits. Beyond it (adaptive prefetch, up to slots + max_prefetch) only a task whose
     * function has been seen to run briefly, and only while the estimated work queued there
     * stays within {@link Scheduler#PREFETCH_BUDGET_NANOS} per slot and its tasks within
     * {@link Scheduler#PREFETCH_BYTES}: a deep queue keeps a slot busy through the round trip
     * when tasks take microseconds, and would keep long tasks from idle workers.
     */
    private boolean creditFor(Task t, WorkerNode w) {
        if (w.credit() > 0) {
            return true;
        }
        if (w.capacity() <= 0 || holdExtendedCredit || creditStarved || !mayPrefetchDeeply(t)) {
            return false;
        }
        long estimate = runTimeOf(t).nanos();
        long queued = w.slotTasks + 1L - w.slots;
        return queued <= Scheduler.PREFETCH_BUDGET_NANOS * w.slots / estimate
                && w.heldBytes + t.spec.getSerializedSize() <= Scheduler.PREFETCH_BYTES;
    }

    /** Not a chunk, and of a function seen to run within a slot's prefetch budget. */
    private boolean mayPrefetchDeeply(Task t) {
        long estimate = t.spec.getChunk() ? 0 : runTimeOf(t).nanos();
        return estimate > 0 && estimate <= Scheduler.PREFETCH_BUDGET_NANOS;
    }

    /** A task that may not use adaptive prefetch, which some accepting worker could take now but for its credit. */
    boolean starvedOfCredit(Task head, Demand demand) {
        if (head.losses > 0 || mayPrefetchDeeply(head)) {
            return false;   // a suspect waits for an empty worker; a short task waits its turn
        }
        for (WorkerNode w : available) {
            if (Placement.fitsIgnoringCredit(demand, w)) {
                return true;
            }
        }
        return false;
    }

    RunTimes.Estimate runTimeOf(Task t) {
        if (t.runTime == null) {
            t.runTime = runTimes.of(t.spec.getFunctionDigest());
        }
        return t.runTime;
    }

    /** A task of a measured function ended after running {@code runNanos} on its worker. */
    void observeRunTime(Task t, long runNanos) {
        runTimes.observe(runTimeOf(t), runNanos);
    }

    private long estimateNanos(Task t) {
        return t.spec.getChunk() ? 0 : runTimeOf(t).nanos();
    }

    /** Some worker has credit, or a reserved one is empty (for a suspect). */
    boolean canPlace() {
        if (!available.isEmpty()) {
            return true;
        }
        for (WorkerNode w : reserved) {
            if (w.unfinished() == 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Where a suspect runs: a task that was running when a worker died goes only to a worker
     * with nothing else to do, and that worker takes nothing more until it ends. If it was the
     * task that killed its worker, it cannot take innocent tasks down with it again. When no
     * worker is empty, the least loaded one that could run it is reserved: it takes no new
     * tasks, so it empties even while other sessions keep every worker busy.
     */
    WorkerNode emptyWorker(Demand demand) {
        for (WorkerNode w : reserved) {
            if (w.unfinished() == 0 && Placement.fitsIgnoringCredit(demand, w)) {   // its credit is held back for this
                return w;
            }
        }
        for (WorkerNode w : available) {
            if (w.unfinished() == 0 && Placement.fitsNow(demand, w)) {
                return w;
            }
        }
        for (WorkerNode w : reserved) {
            if (Placement.fitsEver(demand, w)) {
                return null;   // one is emptying for it already
            }
        }
        for (WorkerNode w : available) {
            if (w.suspects == 0 && Placement.fitsEver(demand, w)) {
                available.remove(w);
                w.reserved = true;
                reserved.add(w);
                return null;
            }
        }
        return null;
    }

    /**
     * Where a process task goes: it holds no slot, so the least loaded worker that carries its
     * labels and has its resources free now, whatever its credit; null if none.
     */
    WorkerNode forProcess(Demand demand) {
        WorkerNode best = null;
        for (WorkerNode w : workers.values()) {
            if (w.accepting() && Placement.fitsIgnoringCredit(demand, w)
                    && (best == null || Placement.LEAST_LOADED.compare(w, best) < 0)) {
                best = w;
            }
        }
        return best;
    }

    // ---- tasks on workers

    /** Assigns the task to the worker and sends it there, with the function it lacks and what to forget. */
    void assign(Task t, WorkerNode w) {
        available.remove(w);
        if (w.reserved) {
            reserved.remove(w);
            w.reserved = false;
        }
        t.attempt++;
        t.worker = w;
        t.since = step.now;
        ledger.move(t, TaskState.ASSIGNED, "assigned", w.id);
        w.unfinished.add(t);
        w.slotTasks += t.isProcess() ? 0 : 1;
        w.heldBytes += t.spec.getSerializedSize();
        t.suspectOnWorker = t.suspect();
        w.suspects += t.suspectOnWorker ? 1 : 0;
        w.hold(t.demand);
        if (w.offers()) {
            available.add(w);
        }
        onWorkers.put(t.key, t);
        FunctionDef function = null;
        if (t.function != null) {
            if (w.sentFunctions.define(t.function, w.forgetNext::add)) {
                function = t.function;
            }
            w.sentFunctions.use(t.function.getDigest());
        }
        List<ByteString> forget = List.of();
        if (!w.forgetNext.isEmpty()) {   // the worker applies these before the function sent with them
            forget = List.copyOf(w.forgetNext);
            w.forgetNext.clear();
        }
        TaskAssign.Builder a = TaskAssign.newBuilder().setTaskKey(t.key).setAttempt(t.attempt).setSpec(t.spec)
                .setTimeoutMs(t.policy.getTimeoutMs()).setName(t.policy.getName());
        step.emit(new Command.Assign(w.stream, w.id, function, a.build(), forget));
    }

    /** The task started on its worker: its slot is busy. */
    void started(Task t) {
        t.since = step.now;
        t.worker.progressAt = t.isProcess() ? t.worker.progressAt : step.now;
        reclaimAnswered(t);   // the worker ignores the order: it runs the task
        t.worker.runningCount += t.isProcess() ? 0 : 1;   // busy slots: a process holds none
    }

    /** Frees the task's place on its worker (the worker reference stays, for the result). */
    void release(Task t) {
        WorkerNode w = t.worker;
        available.remove(w);
        w.unfinished.remove(t);
        w.slotTasks -= t.isProcess() ? 0 : 1;
        w.heldBytes -= t.spec.getSerializedSize();
        w.suspects -= t.suspectOnWorker ? 1 : 0;
        t.suspectOnWorker = false;
        reclaimAnswered(t);
        if (t.state == TaskState.RUNNING && !t.isProcess()) {
            w.runningCount--;
            w.progressAt = step.now;   // its slot is free for the next (see Reclaims)
        }
        w.hold(t.demand);
        if (w.offers()) {
            available.add(w);
        }
        onWorkers.remove(t.key);
        if (t.function != null) {
            // Told to forget with the next function it is sent; nothing to send for that now.
            w.sentFunctions.release(t.function.getDigest(), w.forgetNext::add);
        }
        step.dirty = true;
    }

    void cancelOnWorker(Task t, boolean interrupt, int signal) {
        step.emit(new Command.CancelOrder(t.worker.stream, t.worker.id, TaskCancelOrder.newBuilder()
                .setTaskKey(t.key).setAttempt(t.attempt).setInterrupt(interrupt).setSignal(signal).build()));
    }

    /** Asks back tasks prefetched behind long-running ones, for workers the queue leaves idle (see {@link Reclaims}). */
    void reclaimForIdleWorkers() {
        for (Task t : reclaims.choose(workers.values(), available, this::estimateNanos, step.now)) {
            t.reclaimAsked = true;
            reclaims.asked();
            LOG.log(System.Logger.Level.DEBUG, "asking worker {0} to hand back task key {1} for an idle worker",
                    t.worker.id, Long.toUnsignedString(t.key));
            step.emit(new Command.CancelOrder(t.worker.stream, t.worker.id, TaskCancelOrder.newBuilder()
                    .setTaskKey(t.key).setAttempt(t.attempt).setReclaim(true).build()));
        }
    }

    /** The task started or left its worker: a reclaim of it, if asked, is answered. */
    private void reclaimAnswered(Task t) {
        if (t.reclaimAsked) {
            t.reclaimAsked = false;
            reclaims.answered();
        }
    }

    /** Whether some worker has free slots while tasks run (a reclaim may then help). */
    boolean anyIdle() {
        return Reclaims.anyIdle(available);
    }

    // ---- status and invariants

    /** The attached workers, then the recently lost ones, newest first. */
    void addStatus(StatusResponse.Builder b) {
        for (WorkerNode w : workers.values()) {
            b.addWorkers(w.status(w.draining ? WorkerStatusState.DRAINING : WorkerStatusState.ACTIVE, step.now)
                    .toBuilder().setFunctionDefinitions(w.sentFunctions.size()));
        }
        List<WorkerStatus> recent = new ArrayList<>(lost.values());
        for (int i = recent.size() - 1; i >= 0; i--) {
            b.addWorkers(recent.get(i));
        }
    }

    /** Checks the pool's own invariants; returns the tasks it counts on workers. */
    long validate() {
        Set<Task> seenOnWorkers = new HashSet<>();
        int reclaiming = 0;
        long r = 0;
        for (Task t : onWorkers.values()) {
            Scheduler.check(t.state.onWorker(), "task on worker in state " + t.state);
            Scheduler.check(t.worker.unfinished.contains(t), "task not in its worker's unfinished set");
            Scheduler.check(!t.reclaimAsked || (t.state == TaskState.ASSIGNED && !t.isProcess()),
                    "reclaim of a task that is " + t.state + (t.isProcess() ? " (a process)" : ""));
            reclaiming += t.reclaimAsked ? 1 : 0;
            r++;
        }
        Scheduler.check(reclaiming == reclaims.unanswered(), "unanswered reclaims " + reclaims.unanswered() + " but "
                + reclaiming + " tasks asked back");
        for (WorkerNode w : workers.values()) {
            Scheduler.check(byStream.get(w.stream) == w && !w.lost, "worker maps");
            Scheduler.check(w.slotTasks <= w.slots + Math.max(w.prefetch, w.maxPrefetch), "worker " + w.id + " over credit");
            Map<String, Double> held = new HashMap<>();
            int runningHere = 0;
            int slotTasks = 0;
            int suspects = 0;
            Scheduler.check(w.sentFunctions.liveUses() == w.unfinished.stream().filter(t -> t.function != null).count(),
                    "worker " + w.id + "'s functions count " + w.sentFunctions.liveUses() + " uses by its tasks");
            for (Task t : w.unfinished) {
                Scheduler.check(t.function == null || w.sentFunctions.contains(t.function.getDigest()),
                        "the function of a task on worker " + w.id + " was forgotten there");
                slotTasks += t.isProcess() ? 0 : 1;
                suspects += t.suspectOnWorker ? 1 : 0;
                Scheduler.check(onWorkers.get(t.key) == t && t.worker == w, "unfinished task not on this worker");
                seenOnWorkers.add(t);
                runningHere += t.state == TaskState.RUNNING && !t.isProcess() ? 1 : 0;
                t.demand.resources().forEach((k, v) -> held.merge(k, v, Double::sum));
            }
            Scheduler.check(runningHere == w.runningCount, "running count of " + w.id);
            Scheduler.check(slotTasks == w.slotTasks, "slot task count of " + w.id);
            long bytes = 0;
            for (Task t : w.unfinished) {
                bytes += t.spec.getSerializedSize();
            }
            Scheduler.check(bytes == w.heldBytes, "bytes held by " + w.id);
            Scheduler.check(suspects == w.suspects, "suspect count of " + w.id);
            held.forEach((k, v) -> Scheduler.check(Math.abs(w.used(k) - v) < 1e-6, "resource " + k + " held by " + w.id));
            Scheduler.check(available.contains(w) == w.offers(), "available set membership of " + w.id);
        }
        Scheduler.check(seenOnWorkers.size() == onWorkers.size(), "tasks on lost workers");
        for (WorkerNode w : workers.values()) {
            Scheduler.check(w.reserved == reserved.contains(w), "reservation flag of " + w.id);
        }
        Scheduler.check(workers.values().containsAll(reserved), "a reserved worker is not attached");
        Scheduler.check(available.size() <= workers.size(), "available set has unknown workers");
        Scheduler.check(lost.size() <= LOST_WORKERS_KEPT, "lost list unbounded");
        return r;
    }
}
