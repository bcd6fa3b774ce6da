package io.cohort.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --config FILE}, on every operator command: read before parsing by {@link CohortCommands}, declared here so it parses. */
public final class ConfigOption {
    @Option(names = "--config", paramLabel = "FILE", description = "A properties file of defaults for options not"
            + " given as flags or COHORT_* variables, keyed COMMAND.FLAG, e.g. status.token-file=/etc/cohort/admin.token"
            + " or worker.slots=8 (default: $COHORT_CONF, else none).")
    Path config;
}
