package io.cohort.client;

import static io.cohort.client.OptionChecks.noNulls;
import static io.cohort.client.OptionChecks.notBlank;
import static io.cohort.client.OptionChecks.track;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How a {@link CohortProcess} is placed and started. Immutable and thread-safe; build with
 * {@link #builder()}.
 *
 * <p>Defaults: no {@code name} (the executor names it "Process-1", "Process-2", ... as
 * Python does), no {@code resources}, no {@code labels}, no {@code jvmOptions}.
 */
public final class ProcessOptions {
    /** Every field at its default. */
    public static final ProcessOptions DEFAULTS = builder().build();

    private final String name;
    private final Map<String, Double> resources;
    private final Set<String> labels;
    private final List<String> jvmOptions;

    private ProcessOptions(String name, Map<String, Double> resources, Set<String> labels, List<String> jvmOptions) {
        this.name = name;
        this.resources = resources;
        this.labels = labels;
        this.jvmOptions = jvmOptions;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Shown before each forwarded output line and in errors; empty (the default) for a generated one. */
    public Optional<String> name() {
        return Optional.ofNullable(name);
    }

    /** The resources a worker must have free to host the process; default none. Unmodifiable. */
    public Map<String, Double> resources() {
        return resources;
    }

    /** The labels the worker must carry, every one of them; default none. Unmodifiable. */
    public Set<String> labels() {
        return labels;
    }

    /** Options for the process's JVM, e.g. {@code -Xmx256m}; default none. Unmodifiable. */
    public List<String> jvmOptions() {
        return jvmOptions;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProcessOptions p && Objects.equals(name, p.name) && resources.equals(p.resources)
                && labels.equals(p.labels) && jvmOptions.equals(p.jvmOptions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, resources, labels, jvmOptions);
    }

    @Override
    public String toString() {
        return "ProcessOptions{name=" + name + ", resources=" + resources + ", labels=" + labels
                + ", jvmOptions=" + jvmOptions + "}";
    }

    /**
     * Builds {@link ProcessOptions}. Not thread-safe. Setters accept any value; {@link #build()}
     * checks them all and throws {@link IllegalArgumentException} naming the first bad field.
     */
    public static final class Builder {
        private final Set<String> nulls = new LinkedHashSet<>();
        private String name;
        private Map<String, Double> resources = Map.of();
        private Set<String> labels = Set.of();
        private List<String> jvmOptions = List.of();

        private Builder() {}

        /** Shown before each output line; non-blank. Default: "Process-N", numbered per executor. */
        public Builder name(String name) {
            this.name = track(nulls, "ProcessOptions.name", name);
            return this;
        }

        /**
         * Resources the worker must have free, as {@link TaskOptions.Builder#resources}; held
         * while the process runs (a process holds no slot). Default: none.
         */
        public Builder resources(Map<String, Double> resources) {
            this.resources = track(nulls, "ProcessOptions.resources",
                    resources == null ? null : new LinkedHashMap<>(resources));
            return this;
        }

        /** Labels the worker must all carry, e.g. {@code "zone=a"}; non-blank. Default: none. */
        public Builder labels(Set<String> labels) {
            this.labels = track(nulls, "ProcessOptions.labels", labels == null ? null : new LinkedHashSet<>(labels));
            return this;
        }

        /**
         * Options for the process's JVM, e.g. {@code -Xmx256m}; non-blank. Default: none. Each
         * must pass the worker's allow-list (heap, stack and GC sizing, assertions, -D
         * properties outside java.*, jdk.* and sun.*, and what its operator adds with
         * {@code --allow-jvm-option}); otherwise the process fails, naming the option.
         */
        public Builder jvmOptions(List<String> jvmOptions) {
            this.jvmOptions = track(nulls, "ProcessOptions.jvmOptions", jvmOptions);
            return this;
        }

        /** @throws IllegalArgumentException naming the first bad field */
        public ProcessOptions build() {
            noNulls(nulls);
            if (name != null) {
                notBlank("ProcessOptions.name", name);
            }
            return new ProcessOptions(name, OptionChecks.amounts("ProcessOptions.resources", resources),
                    OptionChecks.names("ProcessOptions.labels", labels),
                    OptionChecks.nameList("ProcessOptions.jvmOptions", jvmOptions));
        }
    }
}
