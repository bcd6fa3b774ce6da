package io.cohort.client;

import static io.cohort.client.OptionChecks.atLeast;
import static io.cohort.client.OptionChecks.noNulls;
import static io.cohort.client.OptionChecks.positive;
import static io.cohort.client.OptionChecks.track;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The embedded cluster of {@code Cohort.local}: a coordinator in this JVM and worker JVMs on
 * this host. Immutable and thread-safe; build with {@link #builder()}.
 *
 * <p>Defaults: {@code workers} 2, {@code slotsPerWorker} the host's cores divided by the
 * workers, at least 1 (see {@link #slotsPerWorkerOrDefault()}), no extra {@code jvmOptions},
 * {@code startTimeout} 60 s, {@code replaceLostWorkers} true, no {@code deserializationFilter},
 * {@code classDataSharing} true, {@code cacheDirectory} {@code $XDG_CACHE_HOME/cohort} else
 * {@code ~/.cache/cohort}, no {@code javaHome} (workers run on this JVM's own JDK), no
 * {@code classPath} (the application's class path as found at run time).
 */
public final class LocalClusterConfig {
    /** Every field at its default. */
    public static final LocalClusterConfig DEFAULTS = builder().build();

    private final int workers;
    private final int slotsPerWorker; // 0 = from the host's cores
    private final List<String> jvmOptions;
    private final Duration startTimeout;
    private final boolean replaceLostWorkers;
    private final String deserializationFilter;   // null: none
    private final boolean classDataSharing;
    private final Path cacheDirectory;             // null: the default
    private final Path javaHome;                   // null: this JVM's
    private final List<Path> classPath;            // null: found at run time

    private LocalClusterConfig(int workers, int slotsPerWorker, List<String> jvmOptions,
                               Duration startTimeout, boolean replaceLostWorkers, String deserializationFilter,
                               boolean classDataSharing, Path cacheDirectory, Path javaHome, List<Path> classPath) {
        this.javaHome = javaHome;
        this.classPath = classPath;
        this.deserializationFilter = deserializationFilter;
        this.classDataSharing = classDataSharing;
        this.cacheDirectory = cacheDirectory;
        this.workers = workers;
        this.slotsPerWorker = slotsPerWorker;
        this.jvmOptions = jvmOptions;
        this.startTimeout = startTimeout;
        this.replaceLostWorkers = replaceLostWorkers;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.workers = workers;
        b.slotsPerWorker = slotsPerWorker;
        b.slotsPerWorkerSet = slotsPerWorker != 0;
        b.jvmOptions = jvmOptions;
        b.startTimeout = startTimeout;
        b.replaceLostWorkers = replaceLostWorkers;
        b.deserializationFilter = deserializationFilter;
        b.classDataSharing = classDataSharing;
        b.cacheDirectory = cacheDirectory;
        b.javaHome = javaHome;
        b.classPath = classPath;
        return b;
    }

    /** Worker JVMs to start; default 2. */
    public int workers() {
        return workers;
    }

    /** Slots of each worker as set; empty (the default) for {@link #slotsPerWorkerOrDefault()}. */
    public OptionalInt slotsPerWorker() {
        return slotsPerWorker == 0 ? OptionalInt.empty() : OptionalInt.of(slotsPerWorker);
    }

    /**
     * Slots of each worker: as set, else {@code max(1, availableProcessors / workers)}, read
     * from the runtime at each call.
     */
    public int slotsPerWorkerOrDefault() {
        if (slotsPerWorker != 0) {
            return slotsPerWorker;
        }
        return Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
    }

    /** Extra options of each worker JVM, before its main class; default none. Unmodifiable. */
    public List<String> jvmOptions() {
        return jvmOptions;
    }

    /**
     * How long the client may take to connect to the embedded coordinator and the first worker
     * to attach ({@code Cohort.local} fails past either); default 60 s.
     */
    public Duration startTimeout() {
        return startTimeout;
    }

    /** Whether a worker JVM that dies is started again; default true. */
    public boolean replaceLostWorkers() {
        return replaceLostWorkers;
    }

    /**
     * The pattern of the worker JVMs ({@code --deserialization-filter}) and of the executor's
     * client ({@code ClientConfig.deserializationFilter}); empty (the default) for the built-in
     * filters alone.
     */
    public Optional<String> deserializationFilter() {
        return Optional.ofNullable(deserializationFilter);
    }

    /**
     * Whether worker JVMs share class data through a cache kept in {@link #cacheDirectory()}
     * (written by a worker of the first cluster, used by later ones: it cuts a worker's start by
     * about half): an AppCDS archive, or on JDK 25 and later the JVM's ahead-of-time cache;
     * default true.
     */
    public boolean classDataSharing() {
        return classDataSharing;
    }

    /**
     * Where the workers' class-data archives are cached (safe to delete at any time):
     * default {@code $XDG_CACHE_HOME/cohort}, else {@code ~/.cache/cohort}.
     */
    public Path cacheDirectory() {
        return cacheDirectory != null ? cacheDirectory : ClassDataArchive.defaultDirectory();
    }

    /**
     * The JDK the worker JVMs run on (its {@code bin/java}); empty (the default) for this JVM's
     * own. The application's classes must run on it. Workers on JDK 25 or later use its
     * ahead-of-time cache instead of an AppCDS archive.
     */
    public Optional<Path> javaHome() {
        return Optional.ofNullable(javaHome);
    }

    /**
     * The worker JVMs' class path as set; empty (the default) for the application's class path
     * as found when the cluster starts: the entries of the class loaders from the thread's
     * context loader up to Cohort's own, so that it works under {@code mvn exec:java}, from one
     * fat jar and from a Spring Boot jar (whose nested jars are copied out into
     * {@link #cacheDirectory()}), not only from a flat {@code java.class.path}. Unmodifiable.
     */
    public Optional<List<Path>> classPath() {
        return Optional.ofNullable(classPath);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LocalClusterConfig c && workers == c.workers
                && slotsPerWorker == c.slotsPerWorker && jvmOptions.equals(c.jvmOptions)
                && startTimeout.equals(c.startTimeout)
                && replaceLostWorkers == c.replaceLostWorkers
                && Objects.equals(deserializationFilter, c.deserializationFilter)
                && classDataSharing == c.classDataSharing && Objects.equals(cacheDirectory, c.cacheDirectory)
                && Objects.equals(javaHome, c.javaHome) && Objects.equals(classPath, c.classPath);
    }

    @Override
    public int hashCode() {
        return Objects.hash(workers, slotsPerWorker, jvmOptions, startTimeout, replaceLostWorkers,
                deserializationFilter, classDataSharing, cacheDirectory, javaHome, classPath);
    }

    @Override
    public String toString() {
        return "LocalClusterConfig{workers=" + workers + ", slotsPerWorker="
                + (slotsPerWorker == 0 ? "auto" : slotsPerWorker) + ", jvmOptions=" + jvmOptions
                + ", startTimeout=" + startTimeout + ", replaceLostWorkers=" + replaceLostWorkers
                + ", deserializationFilter=" + (deserializationFilter == null ? "none" : deserializationFilter)
                + ", classDataSharing=" + classDataSharing + ", cacheDirectory=" + cacheDirectory()
                + ", javaHome=" + (javaHome == null ? "this JVM's" : javaHome)
                + ", classPath=" + (classPath == null ? "found at run time" : classPath) + "}";
    }

    /**
     * Builds {@link LocalClusterConfig}. Not thread-safe. Setters accept any value;
     * {@link #build()} checks them all and throws {@link IllegalArgumentException} naming the
     * first bad field.
     */
    public static final class Builder {
        private final Set<String> nulls = new LinkedHashSet<>();
        private int workers = 2;
        private int slotsPerWorker;
        private boolean slotsPerWorkerSet;
        private List<String> jvmOptions = List.of();
        private Duration startTimeout = Duration.ofSeconds(60);
        private boolean replaceLostWorkers = true;
        private String deserializationFilter;
        private boolean classDataSharing = true;
        private Path cacheDirectory;
        private Path javaHome;
        private List<Path> classPath;

        private Builder() {}

        /** Worker JVMs to start, {@code >= 1}; default 2. */
        public Builder workers(int workers) {
            this.workers = workers;
            return this;
        }

        /**
         * Tasks each worker runs at once, {@code >= 1}. Default: the host's cores divided by the
         * workers, at least 1.
         */
        public Builder slotsPerWorker(int slotsPerWorker) {
            this.slotsPerWorker = slotsPerWorker;
            this.slotsPerWorkerSet = true;
            return this;
        }

        /** Extra options of each worker JVM, e.g. {@code "-Xmx512m"}; non-blank. Default: none. */
        public Builder jvmOptions(List<String> jvmOptions) {
            this.jvmOptions = track(nulls, "LocalClusterConfig.jvmOptions",
                    jvmOptions == null ? null : new ArrayList<>(jvmOptions));
            return this;
        }

        /** How long starting may take, {@code > 0}; default 60 s. */
        public Builder startTimeout(Duration startTimeout) {
            this.startTimeout = track(nulls, "LocalClusterConfig.startTimeout", startTimeout);
            return this;
        }

        /** Whether a worker JVM that dies is started again; default true. */
        public Builder replaceLostWorkers(boolean replaceLostWorkers) {
            this.replaceLostWorkers = replaceLostWorkers;
            return this;
        }

        /**
         * An allow-list, in the JDK's {@code ObjectInputFilter} pattern syntax (e.g.
         * {@code "com.example.**;java.base/*;!*"}), for what the worker JVMs decode (their
         * {@code --deserialization-filter}) and what the executor decodes (its
         * {@code ClientConfig.deserializationFilter}: the classes it names are decoded beyond the
         * client's built-in allow-list); combined with the built-in refusals of gadget classes,
         * which always win. Default: none (the built-in filters alone).
         */
        public Builder deserializationFilter(String pattern) {
            this.deserializationFilter = track(nulls, "LocalClusterConfig.deserializationFilter", pattern);
            return this;
        }

        /**
         * Whether worker JVMs share class data through an archive cached in
         * {@link #cacheDirectory(Path)}; default true. Skipped, whatever this says, when the
         * class path holds a directory or {@code jvmOptions} set up sharing themselves.
         */
        public Builder classDataSharing(boolean classDataSharing) {
            this.classDataSharing = classDataSharing;
            return this;
        }

        /** Where class-data archives are cached; default {@code $XDG_CACHE_HOME/cohort}, else {@code ~/.cache/cohort}. */
        public Builder cacheDirectory(Path cacheDirectory) {
            this.cacheDirectory = track(nulls, "LocalClusterConfig.cacheDirectory", cacheDirectory);
            return this;
        }

        /**
         * The JDK to run the worker JVMs on, e.g. {@code /usr/lib/jvm/temurin-25-jdk-amd64};
         * default: this JVM's own. Checked when the cluster starts (a worker that cannot start
         * fails {@code Cohort.local}).
         */
        public Builder javaHome(Path javaHome) {
            this.javaHome = track(nulls, "LocalClusterConfig.javaHome", javaHome);
            return this;
        }

        /**
         * The worker JVMs' class path: jars and class directories that hold Cohort, its
         * dependencies and the application's classes; not empty. Default: the application's
         * class path as found when the cluster starts (see {@link LocalClusterConfig#classPath()}).
         */
        public Builder classPath(List<Path> classPath) {
            this.classPath = track(nulls, "LocalClusterConfig.classPath",
                    classPath == null ? null : new ArrayList<>(classPath));
            return this;
        }

        /** @throws IllegalArgumentException naming the first bad field */
        public LocalClusterConfig build() {
            noNulls(nulls);
            atLeast("LocalClusterConfig.workers", workers, 1);
            if (slotsPerWorkerSet) {
                atLeast("LocalClusterConfig.slotsPerWorker", slotsPerWorker, 1);
            }
            List<String> options =
                    OptionChecks.nameList("LocalClusterConfig.jvmOptions", jvmOptions);
            positive("LocalClusterConfig.startTimeout", startTimeout);
            String filter = deserializationFilter == null ? null
                    : OptionChecks.filterPattern("LocalClusterConfig.deserializationFilter", deserializationFilter);
            if (classPath != null && (classPath.isEmpty() || classPath.stream().anyMatch(Objects::isNull))) {
                throw new IllegalArgumentException("LocalClusterConfig.classPath must name at least one jar or"
                        + " directory and no null: " + classPath);
            }
            return new LocalClusterConfig(workers, slotsPerWorkerSet ? slotsPerWorker : 0, options,
                    startTimeout, replaceLostWorkers, filter, classDataSharing, cacheDirectory, javaHome,
                    classPath == null ? null : List.copyOf(classPath));
        }
    }
}
