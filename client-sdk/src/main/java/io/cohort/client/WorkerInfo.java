package io.cohort.client;

import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One worker in a {@link ClusterInfo} snapshot. The collections are unmodifiable copies.
 *
 * @param id        the worker's id, as named in errors and logs
 * @param host      the host it runs on
 * @param pid       its process id
 * @param slots     how many tasks it runs at once
 * @param busySlots how many of those slots are running a task
 * @param resources what it advertises, e.g. {@code cpu}, {@code memoryMb}, {@code gpu}
 * @param labels    its labels, e.g. {@code zone=a} or {@code gpu}
 * @param state     its state
 */
public record WorkerInfo(String id, String host, long pid, int slots, int busySlots,
                         Map<String, Double> resources, Set<String> labels, WorkerState state) {
    public WorkerInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(host, "host");
        resources = Map.copyOf(resources);
        labels = Set.copyOf(labels);
        Objects.requireNonNull(state, "state");
    }

    /** Slots not running a task, never negative. */
    public int freeSlots() {
        return Math.max(0, slots - busySlots);
    }
}
