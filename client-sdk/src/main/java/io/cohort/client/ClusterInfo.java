package io.cohort.client;

import java.util.List;

/**
 * A snapshot of the cluster as the coordinator saw it, from
 * {@code CohortExecutor.clusterInfo()}. The worker list is an unmodifiable copy.
 *
 * @param workers        every worker the coordinator knows, including draining and lost ones
 * @param queuedTasks    tasks waiting for a slot
 * @param runningTasks   tasks running on a worker
 * @param completedTasks tasks that have ended in any way
 */
public record ClusterInfo(List<WorkerInfo> workers, long queuedTasks, long runningTasks,
                          long completedTasks) {
    public ClusterInfo {
        workers = List.copyOf(workers);
    }

    /** The slots of the {@link WorkerState#ACTIVE} workers. */
    public int totalSlots() {
        return workers.stream().filter(w -> w.state() == WorkerState.ACTIVE)
                .mapToInt(WorkerInfo::slots).sum();
    }

    /** The busy slots of the {@link WorkerState#ACTIVE} workers. */
    public int busySlots() {
        return workers.stream().filter(w -> w.state() == WorkerState.ACTIVE)
                .mapToInt(WorkerInfo::busySlots).sum();
    }
}
