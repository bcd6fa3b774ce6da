package io.cohort.client;

import static io.cohort.client.OptionChecks.atLeast;
import static io.cohort.client.OptionChecks.noNulls;
import static io.cohort.client.OptionChecks.notBlank;
import static io.cohort.client.OptionChecks.positive;
import static io.cohort.client.OptionChecks.track;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How one task runs. Immutable and thread-safe; build with {@link #builder()}.
 *
 * <p>Defaults: {@code maxRetries} 3, no {@code timeout}, no {@code resources}, no
 * {@code labels}, {@code priority} 0, no {@code name}.
 */
public final class TaskOptions {
    /** Every field at its default. */
    public static final TaskOptions DEFAULTS = builder().build();

    private final int maxRetries;
    private final Duration timeout;
    private final Map<String, Double> resources;
    private final Set<String> labels;
    private final int priority;
    private final String name;

    private TaskOptions(int maxRetries, Duration timeout, Map<String, Double> resources,
                        Set<String> labels, int priority, String name) {
        this.maxRetries = maxRetries;
        this.timeout = timeout;
        this.resources = resources;
        this.labels = labels;
        this.priority = priority;
        this.name = name;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxRetries = maxRetries;
        b.timeout = timeout;
        b.resources = resources;
        b.labels = labels;
        b.priority = priority;
        b.name = name;
        return b;
    }

    /** How many times the task is run again after its worker is lost. Default 3. */
    public int maxRetries() {
        return maxRetries;
    }

    /** The execution limit of one run; empty (the default) for none. */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    /** The resources a worker must have free to run the task; default none. Unmodifiable. */
    public Map<String, Double> resources() {
        return resources;
    }

    /** The labels a worker must carry, every one of them; default none. Unmodifiable. */
    public Set<String> labels() {
        return labels;
    }

    /** Higher runs first; default 0. */
    public int priority() {
        return priority;
    }

    /** The name shown in logs, status and errors; empty (the default) for none. */
    public Optional<String> name() {
        return Optional.ofNullable(name);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TaskOptions t && maxRetries == t.maxRetries
                && Objects.equals(timeout, t.timeout) && resources.equals(t.resources)
                && labels.equals(t.labels) && priority == t.priority
                && Objects.equals(name, t.name);
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxRetries, timeout, resources, labels, priority, name);
    }

    @Override
    public String toString() {
        return "TaskOptions{maxRetries=" + maxRetries + ", timeout=" + timeout
                + ", resources=" + resources + ", labels=" + labels + ", priority=" + priority
                + ", name=" + name + "}";
    }

    /**
     * Builds {@link TaskOptions}. Not thread-safe. Setters accept any value; {@link #build()}
     * checks them all and throws {@link IllegalArgumentException} naming the first bad field.
     */
    public static final class Builder {
        private final Set<String> nulls = new LinkedHashSet<>();
        private int maxRetries = 3;
        private Duration timeout;
        private Map<String, Double> resources = Map.of();
        private Set<String> labels = Set.of();
        private int priority;
        private String name;

        private Builder() {}

        /** Re-runs allowed after a lost worker, {@code >= 0}; default 3. */
        public Builder maxRetries(int maxRetries) {
            this.maxRetries = maxRetries;
            return this;
        }

        /**
         * Execution limit of each run, {@code > 0}; past it the task is interrupted and fails
         * with {@link TaskTimeoutException}. Default: no limit.
         */
        public Builder timeout(Duration timeout) {
            this.timeout = track(nulls, "TaskOptions.timeout", timeout);
            return this;
        }

        /**
         * Resources the task needs, e.g. {@code cpu}, {@code memoryMb}, {@code gpu} or any name a
         * worker advertises; names non-blank, amounts finite and {@code >= 0}. Replaces earlier
         * ones. Default: none.
         */
        public Builder resources(Map<String, Double> resources) {
            this.resources = track(nulls, "TaskOptions.resources",
                    resources == null ? null : new LinkedHashMap<>(resources));
            return this;
        }

        /** Adds one resource need to those set so far. */
        public Builder resource(String name, double amount) {
            Map<String, Double> more =
                    new LinkedHashMap<>(resources == null ? Map.of() : resources);
            more.put(name, amount);
            this.resources = more;
            nulls.remove("TaskOptions.resources");
            return this;
        }

        /**
         * Labels a worker must all carry, e.g. {@code "zone=a"} or {@code "gpu"}; non-blank.
         * Replaces earlier ones. Default: none.
         */
        public Builder labels(Set<String> labels) {
            this.labels = track(nulls, "TaskOptions.labels",
                    labels == null ? null : new LinkedHashSet<>(labels));
            return this;
        }

        /** Adds one label to those set so far. */
        public Builder label(String label) {
            Set<String> more = new LinkedHashSet<>(labels == null ? Set.of() : labels);
            more.add(label);
            this.labels = more;
            nulls.remove("TaskOptions.labels");
            return this;
        }

        /** Higher runs first; any value; default 0. */
        public Builder priority(int priority) {
            this.priority = priority;
            return this;
        }

        /** Shown in logs, status and errors; non-blank. Default: none. */
        public Builder name(String name) {
            this.name = track(nulls, "TaskOptions.name", name);
            return this;
        }

        /** @throws IllegalArgumentException naming the first bad field */
        public TaskOptions build() {
            noNulls(nulls);
            atLeast("TaskOptions.maxRetries", maxRetries, 0);
            if (timeout != null) {
                positive("TaskOptions.timeout", timeout);
            }
            Map<String, Double> res = OptionChecks.amounts("TaskOptions.resources", resources);
            Set<String> labs = OptionChecks.names("TaskOptions.labels", labels);
            if (name != null) {
                notBlank("TaskOptions.name", name);
            }
            return new TaskOptions(maxRetries, timeout, res, labs, priority, name);
        }
    }
}
