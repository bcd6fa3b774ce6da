package io.cohort.client;

import static io.cohort.client.OptionChecks.atLeast;
import static io.cohort.client.OptionChecks.noNulls;
import static io.cohort.client.OptionChecks.positive;
import static io.cohort.client.OptionChecks.track;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;

/**
 * How {@code CohortExecutor.map} runs. Immutable and thread-safe; build with {@link #builder()}.
 *
 * <p>Defaults: {@code chunkSize} and {@code bufferSize} chosen by Cohort (empty here), no
 * {@code timeout}, {@code ordered} true, {@code taskOptions} {@link TaskOptions#DEFAULTS}, no
 * {@code onProgress} callback, {@code showProgress} false.
 */
public final class MapOptions {
    /** Every field at its default. */
    public static final MapOptions DEFAULTS = builder().build();

    private final int chunkSize;   // 0 = chosen by Cohort
    private final int bufferSize;  // 0 = chosen by Cohort
    private final Duration timeout;
    private final boolean ordered;
    private final TaskOptions taskOptions;
    private final Consumer<? super Progress> onProgress;   // null: none
    private final boolean showProgress;

    private MapOptions(int chunkSize, int bufferSize, Duration timeout, boolean ordered,
                       TaskOptions taskOptions, Consumer<? super Progress> onProgress, boolean showProgress) {
        this.chunkSize = chunkSize;
        this.bufferSize = bufferSize;
        this.timeout = timeout;
        this.ordered = ordered;
        this.taskOptions = taskOptions;
        this.onProgress = onProgress;
        this.showProgress = showProgress;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.chunkSize = chunkSize;
        b.chunkSizeSet = chunkSize != 0;
        b.bufferSize = bufferSize;
        b.bufferSizeSet = bufferSize != 0;
        b.timeout = timeout;
        b.ordered = ordered;
        b.taskOptions = taskOptions;
        b.onProgress = onProgress;
        b.showProgress = showProgress;
        return b;
    }

    /** Inputs per unit of work; empty (the default) when Cohort chooses. */
    public OptionalInt chunkSize() {
        return chunkSize == 0 ? OptionalInt.empty() : OptionalInt.of(chunkSize);
    }

    /**
     * Inputs read ahead of the results taken (Python's {@code buffersize}); empty (the default)
     * when Cohort chooses, from the cluster's slots.
     */
    public OptionalInt bufferSize() {
        return bufferSize == 0 ? OptionalInt.empty() : OptionalInt.of(bufferSize);
    }

    /** The limit for the whole map, from the {@code map()} call; empty (the default): none. */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    /** True (the default) for results in input order, false for completion order. */
    public boolean ordered() {
        return ordered;
    }

    /** The options of each task; default {@link TaskOptions#DEFAULTS}. */
    public TaskOptions taskOptions() {
        return taskOptions;
    }

    /** The callback that receives the map's progress; empty (the default): none. */
    public Optional<Consumer<? super Progress>> onProgress() {
        return Optional.ofNullable(onProgress);
    }

    /** True to draw a progress bar on standard output; default false. */
    public boolean showProgress() {
        return showProgress;
    }

    /** Equal options; callbacks compare by identity. */
    @Override
    public boolean equals(Object o) {
        return o instanceof MapOptions m && chunkSize == m.chunkSize && bufferSize == m.bufferSize
                && Objects.equals(timeout, m.timeout) && ordered == m.ordered
                && taskOptions.equals(m.taskOptions) && onProgress == m.onProgress
                && showProgress == m.showProgress;
    }

    @Override
    public int hashCode() {
        return Objects.hash(chunkSize, bufferSize, timeout, ordered, taskOptions,
                System.identityHashCode(onProgress), showProgress);
    }

    @Override
    public String toString() {
        return "MapOptions{chunkSize=" + (chunkSize == 0 ? "auto" : chunkSize)
                + ", bufferSize=" + (bufferSize == 0 ? "auto" : bufferSize)
                + ", timeout=" + timeout + ", ordered=" + ordered
                + ", taskOptions=" + taskOptions
                + (onProgress == null ? "" : ", onProgress=" + onProgress)
                + (showProgress ? ", showProgress=true" : "") + "}";
    }

    /**
     * Builds {@link MapOptions}. Not thread-safe. Setters accept any value; {@link #build()}
     * checks them all and throws {@link IllegalArgumentException} naming the first bad field.
     */
    public static final class Builder {
        private final Set<String> nulls = new LinkedHashSet<>();
        private int chunkSize;
        private int bufferSize;
        private boolean chunkSizeSet;
        private boolean bufferSizeSet;
        private Duration timeout;
        private boolean ordered = true;
        private TaskOptions taskOptions = TaskOptions.DEFAULTS;
        private Consumer<? super Progress> onProgress;
        private boolean showProgress;

        private Builder() {}

        /**
         * Inputs grouped into one unit of work, {@code >= 1}. Default: chosen by Cohort, from the
         * cluster's slots and how long units take (see {@code ChunkSizer}).
         */
        public Builder chunkSize(int chunkSize) {
            this.chunkSize = chunkSize;
            this.chunkSizeSet = true;
            return this;
        }

        /**
         * Inputs read ahead of the results taken, {@code >= 1}. Default: chosen by Cohort, room
         * for 4 units per slot: of {@code chunkSize} inputs when it is set, else of the largest
         * automatic unit (65,536 inputs).
         */
        public Builder bufferSize(int bufferSize) {
            this.bufferSize = bufferSize;
            this.bufferSizeSet = true;
            return this;
        }

        /**
         * Limit for the whole map, {@code > 0}, counted from the {@code map()} call; past it
         * iteration throws {@link CohortTimeoutException}. Default: no limit.
         */
        public Builder timeout(Duration timeout) {
            this.timeout = track(nulls, "MapOptions.timeout", timeout);
            return this;
        }

        /** True for input order, false for completion order (imap_unordered); default true. */
        public Builder ordered(boolean ordered) {
            this.ordered = ordered;
            return this;
        }

        /** Options of each task; default {@link TaskOptions#DEFAULTS}. */
        public Builder taskOptions(TaskOptions taskOptions) {
            this.taskOptions = track(nulls, "MapOptions.taskOptions", taskOptions);
            return this;
        }

        /**
         * Called with the map's progress (a snapshot) on the executor's callback executor: when
         * elements complete, at most about 10 times a second, and once more, last, when the map
         * ends (every element done, or the result closed). A callback that throws is logged and
         * called again on the next change. Default: none.
         */
        public Builder onProgress(Consumer<? super Progress> onProgress) {
            this.onProgress = track(nulls, "MapOptions.onProgress", onProgress);
            return this;
        }

        /**
         * True to draw a progress bar on standard output, like Dask's {@code progress()}: redrawn
         * in place on a terminal, a plain line every 5 s otherwise; its last line is written
         * before iteration ends (or at {@code close()}). Default false.
         */
        public Builder showProgress(boolean showProgress) {
            this.showProgress = showProgress;
            return this;
        }

        /** @throws IllegalArgumentException naming the first bad field */
        public MapOptions build() {
            noNulls(nulls);
            if (chunkSizeSet) {
                atLeast("MapOptions.chunkSize", chunkSize, 1);
            }
            if (bufferSizeSet) {
                atLeast("MapOptions.bufferSize", bufferSize, 1);
            }
            if (timeout != null) {
                positive("MapOptions.timeout", timeout);
            }
            return new MapOptions(chunkSize, bufferSize, timeout, ordered, taskOptions, onProgress, showProgress);
        }
    }
}
