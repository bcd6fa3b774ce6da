package io.cohort.coordinator.core;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.WorkerStatus;
import io.cohort.proto.v1.WorkerStatusState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** One attached worker as the scheduler sees it: what it offers and the tasks it holds. Not thread-safe. */
final class WorkerNode implements Placement.Candidate, Reclaims.Holder<Task> {
    final long stream;
    final String id;
    final String host;
    final long pid;
    final int slots;
    final int prefetch;
    /** Adaptive prefetch's ceiling (not above prefetch: none). */
    final int maxPrefetch;
    final Map<String, Double> totals;
    final Set<String> labels;
    final Map<String, Double> used = new HashMap<>();
    final Set<Task> unfinished = new LinkedHashSet<>();
    /** The unfinished tasks that are not process tasks. */
    int slotTasks;
    /** Serialized size of the unfinished tasks' specs. */
    long heldBytes;
    /** Functions it was sent; those that go idle beyond the cap wait in forgetNext to be sent with the next assign. */
    final FunctionTable sentFunctions = new FunctionTable(Scheduler.IDLE_FUNCTIONS_PER_WORKER);
    final List<ByteString> forgetNext = new ArrayList<>(0);
    int runningCount;
    boolean draining;
    boolean lost;
    long lastHeard;
    /** Unfinished tasks placed here as suspects (see WorkerPool#emptyWorker). */
    int suspects;
    /** Kept from new tasks until it is empty, for a queued suspect. */
    boolean reserved;
    /** When one of its slot tasks last started, or ended after running. */
    long progressAt;

    WorkerNode(long stream, String id, Event.WorkerAttached e, long now) {
        this.stream = stream;
        this.id = id;
        this.host = e.host();
        this.pid = e.pid();
        this.slots = e.slots();
        this.prefetch = e.prefetch();
        this.maxPrefetch = e.maxPrefetch();
        Map<String, Double> t = new HashMap<>(e.resources());
        t.putIfAbsent("cpu", (double) e.slots());
        this.totals = Map.copyOf(t);
        this.labels = Set.copyOf(e.labels());
        this.draining = e.draining();
        this.lastHeard = now;
    }

    /**
     * {@code d}'s task came or went: what the worker's tasks hold is summed again from them. A
     * running sum drifts (1e300 + 0.5 - 1e300 is 0, not 0.5: found by SchedulerFuzzTest's long
     * run), and the tasks on one worker are few.
     */
    void hold(Demand d) {
        if (d.resources().isEmpty()) {
            return;   // the sums are unchanged
        }
        used.clear();
        for (Task t : unfinished) {
            t.demand.resources().forEach((k, v) -> used.merge(k, v, Double::sum));
        }
    }

    WorkerStatus status(WorkerStatusState state, long now) {
        return WorkerStatus.newBuilder().setId(id).setHost(host).setPid(pid).setSlots(slots)
                .setBusySlots(runningCount).putAllResources(totals).addAllLabels(new TreeSet<>(labels))
                .setState(state).setHeartbeatAgeMs(Math.max(0, now - lastHeard)).build();
    }

    @Override public String id() { return id; }
    @Override public boolean accepting() { return !draining && !lost; }
    @Override public int slots() { return slots; }
    @Override public int unfinished() { return slotTasks; }
    /** Process tasks hold no slot, so they take no credit; a worker running a suspect takes nothing more. */
    @Override public int credit() { return suspects > 0 || reserved ? 0 : slots + prefetch - slotTasks; }
    /** Credit counting adaptive prefetch, whatever the tasks: an upper bound of what it may be sent. */
    int capacity() { return suspects > 0 || reserved ? 0 : slots + Math.max(prefetch, maxPrefetch) - slotTasks; }
    /** Accepting and below its largest credit: a member of WorkerPool's available set. */
    boolean offers() { return accepting() && capacity() > 0; }
    @Override public Set<String> labels() { return labels; }
    @Override public Iterable<Task> held() { return unfinished; }
    @Override public int slotTasks() { return slotTasks; }
    @Override public long progressAt() { return progressAt; }
    @Override public Map<String, Double> totals() { return totals; }
    @Override public double used(String resource) { return used.getOrDefault(resource, 0.0); }
}
