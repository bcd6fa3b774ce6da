package io.cohort.coordinator.core;

import io.cohort.common.Protocol;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import java.util.List;

/** One submitted task as the scheduler tracks it, from submit to its answer. Not thread-safe. */
final class Task implements Reclaims.Held {
    final long key;
    final long taskId;
    final ClientSession session;
    final TaskSpec spec;
    final TaskPolicy policy;
    final FunctionDef function;
    final Demand demand;
    /** Its encoded size, counted against the budgets while it is unanswered. */
    final int bytes;
    TaskState state = TaskState.NEW;
    int attempt;
    int losses;
    /** Placed as a suspect (it had lost a worker while running): its worker takes nothing else. */
    boolean suspectOnWorker;
    WorkerNode worker;
    List<String> lostOn;
    boolean cancelRequested;
    boolean cancelInterrupt;
    /** Process tasks only (lanes keep the clock of other tasks). */
    final UnfitClock unfit;
    /** Its function's run-time estimate, looked up when first needed. */
    RunTimes.Estimate runTime;
    /** When it was assigned, or started once it has. */
    long since;
    /** Asked back from its worker for an idle one, and not answered yet. */
    boolean reclaimAsked;

    Task(long key, long taskId, ClientSession session, TaskSpec spec, TaskPolicy policy, FunctionDef function,
         Demand demand) {
        this.key = key;
        this.taskId = taskId;
        this.session = session;
        this.spec = spec;
        this.policy = policy;
        this.function = function;
        this.demand = demand;
        this.bytes = spec.getSerializedSize() + policy.getSerializedSize();
        this.unfit = spec.hasProcess() ? new UnfitClock() : null;
    }

    boolean isProcess() {
        return spec.hasProcess();
    }

    @Override public boolean holdsSlot() { return !isProcess(); }
    @Override public boolean mayReclaim() { return state == TaskState.ASSIGNED && !isProcess() && !suspectOnWorker && !reclaimAsked; }
    @Override public long since() { return since; }
    @Override public Demand demand() { return demand; }

    long maxRetries() {
        return policy.hasMaxRetries() ? Integer.toUnsignedLong(policy.getMaxRetries()) : Protocol.DEFAULT_MAX_RETRIES;
    }

    /** It was running where a worker (or a child JVM of one) was lost: one more loss, noted for the message. */
    void lost(String where) {
        losses++;
        if (lostOn == null) {
            lostOn = new java.util.ArrayList<>(2);
        }
        lostOn.add(where);
    }

    /** "task N (name)", for messages. */
    String describe() {
        String name = policy.getName();
        return "task " + Long.toUnsignedString(taskId) + (name.isEmpty() ? "" : " (" + name + ")");
    }

    /** Its slot-queue suspect status: it was running when a worker was lost, and runs alone (see WorkerPool). */
    boolean suspect() {
        return losses > 0 && !isProcess();
    }
}
