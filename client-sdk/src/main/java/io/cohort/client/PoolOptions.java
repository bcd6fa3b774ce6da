package io.cohort.client;

import static io.cohort.client.OptionChecks.atLeast;
import static io.cohort.client.OptionChecks.bad;
import static io.cohort.client.OptionChecks.noNulls;
import static io.cohort.client.OptionChecks.track;

import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * How a {@link CohortPool} runs, as {@code multiprocessing.Pool}'s arguments. Immutable; build
 * with {@link #builder()}.
 *
 * <p>Defaults: {@code processes} the cluster's slots when the pool is made, no
 * {@code initializer}, no {@code maxTasksPerChild}, {@link Isolation#THREADS}, task options
 * {@link TaskOptions#DEFAULTS}.
 */
public final class PoolOptions {
    /** Every field at its default. */
    public static final PoolOptions DEFAULTS = builder().build();

    private final int processes;          // 0 = the cluster's slots
    private final RemoteRunnable initializer;
    private final int maxTasksPerChild;   // 0 = never replaced
    private final Isolation isolation;
    private final TaskOptions taskOptions;

    private PoolOptions(Builder b) {
        this.processes = b.processes;
        this.initializer = b.initializer;
        this.maxTasksPerChild = b.maxTasksPerChild;
        this.isolation = b.isolation;
        this.taskOptions = b.taskOptions;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** At most this many of the pool's tasks run at once; empty: the cluster's slots. */
    public OptionalInt processes() {
        return processes == 0 ? OptionalInt.empty() : OptionalInt.of(processes);
    }

    /** Runs once per worker JVM (THREADS) or child JVM (PROCESS) before its first task of this pool. */
    public Optional<RemoteRunnable> initializer() {
        return Optional.ofNullable(initializer);
    }

    /** PROCESS only: a child JVM is replaced after this many tasks; empty: never. */
    public OptionalInt maxTasksPerChild() {
        return maxTasksPerChild == 0 ? OptionalInt.empty() : OptionalInt.of(maxTasksPerChild);
    }

    public Isolation isolation() {
        return isolation;
    }

    /** Options of each of the pool's tasks. */
    public TaskOptions taskOptions() {
        return taskOptions;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PoolOptions p && processes == p.processes && Objects.equals(initializer, p.initializer)
                && maxTasksPerChild == p.maxTasksPerChild && isolation == p.isolation
                && taskOptions.equals(p.taskOptions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(processes, initializer, maxTasksPerChild, isolation, taskOptions);
    }

    @Override
    public String toString() {
        return "PoolOptions{processes=" + (processes == 0 ? "auto" : processes)
                + ", initializer=" + (initializer != null) + ", maxTasksPerChild="
                + (maxTasksPerChild == 0 ? "none" : maxTasksPerChild) + ", isolation=" + isolation
                + ", taskOptions=" + taskOptions + "}";
    }

    /**
     * Builds {@link PoolOptions}. Not thread-safe. {@link #build()} checks every field and throws
     * {@link IllegalArgumentException} naming the first bad one.
     */
    public static final class Builder {
        private final Set<String> nulls = new LinkedHashSet<>();
        private int processes;
        private boolean processesSet;
        private RemoteRunnable initializer;
        private int maxTasksPerChild;
        private boolean maxTasksPerChildSet;
        private Isolation isolation = Isolation.THREADS;
        private TaskOptions taskOptions = TaskOptions.DEFAULTS;

        private Builder() {}

        /** At most this many of the pool's tasks run at once across the cluster, {@code >= 1}. */
        public Builder processes(int processes) {
            this.processes = processes;
            this.processesSet = true;
            return this;
        }

        /** Runs once per worker (THREADS) or child JVM (PROCESS) before its first task of this pool. */
        public Builder initializer(RemoteRunnable initializer) {
            this.initializer = track(nulls, "PoolOptions.initializer", initializer);
            return this;
        }

        /** Replaces a child JVM after this many tasks, {@code >= 1}; PROCESS isolation only. */
        public Builder maxTasksPerChild(int maxTasksPerChild) {
            this.maxTasksPerChild = maxTasksPerChild;
            this.maxTasksPerChildSet = true;
            return this;
        }

        /** THREADS (the default) or PROCESS. */
        public Builder isolation(Isolation isolation) {
            this.isolation = track(nulls, "PoolOptions.isolation", isolation);
            return this;
        }

        /** Options of each of the pool's tasks (retries, timeout, resources, labels...). */
        public Builder taskOptions(TaskOptions taskOptions) {
            this.taskOptions = track(nulls, "PoolOptions.taskOptions", taskOptions);
            return this;
        }

        /** @throws IllegalArgumentException naming the first bad field */
        public PoolOptions build() {
            noNulls(nulls);
            if (processesSet) {
                atLeast("PoolOptions.processes", processes, 1);
            }
            if (maxTasksPerChildSet) {
                atLeast("PoolOptions.maxTasksPerChild", maxTasksPerChild, 1);
                if (isolation != Isolation.PROCESS) {
                    throw bad("PoolOptions.maxTasksPerChild", "needs Isolation.PROCESS (a THREADS pool has no child JVMs)");
                }
            }
            return new PoolOptions(this);
        }
    }
}
