package io.cohort.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --config FILE}, on every command: read before parsing by {@link CohortDefaults}, declared here so it parses. */
public final class ConfigOption {
    @Option(names = "--config", paramLabel = "FILE", description = "A properties file of defaults for options not"
            + " given as flags or COHORT_* variables, e.g. token-file=/etc/cohort/admin.token or"
            + " worker.slots=8 (default: $COHORT_CONFIG, else none).")
    Path config;
}
