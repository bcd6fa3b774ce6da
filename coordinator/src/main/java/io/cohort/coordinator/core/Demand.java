package io.cohort.coordinator.core;

import io.cohort.proto.v1.TaskPolicy;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a task needs from its worker: resources (amounts it holds while unfinished) and labels.
 * Equal demands share a queue lane, so a lane whose head cannot be placed blocks only tasks
 * that could not be placed either.
 */
public record Demand(Map<String, Double> resources, Set<String> labels) {
    public static final Demand NONE = new Demand(Map.of(), Set.of());

    public Demand {
        resources = Collections.unmodifiableMap(new TreeMap<>(resources));
        labels = Collections.unmodifiableSet(new TreeSet<>(labels));
    }

    /** The policy's demand; throws IllegalArgumentException for a negative or non-finite amount. */
    public static Demand of(TaskPolicy policy) {
        if (policy.getResourcesCount() == 0 && policy.getLabelsCount() == 0) {
            return NONE;
        }
        Map<String, Double> resources = new TreeMap<>();
        policy.getResourcesMap().forEach((name, amount) -> {
            if (!(amount >= 0) || amount.isInfinite()) {
                throw new IllegalArgumentException("resource " + name + " must be a finite amount >= 0, not " + amount);
            }
            if (amount > 0) {
                resources.put(name, amount);
            }
        });
        Set<String> labels = new TreeSet<>(policy.getLabelsList());
        return resources.isEmpty() && labels.isEmpty() ? NONE : new Demand(resources, labels);
    }

    public boolean isNone() {
        return resources.isEmpty() && labels.isEmpty();
    }

    @Override
    public String toString() {
        return "resources " + resources + " and labels " + labels;
    }
}
