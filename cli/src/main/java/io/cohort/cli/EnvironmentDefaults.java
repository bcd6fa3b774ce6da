package io.cohort.cli;

import java.util.Locale;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * An option not given as a flag takes its value from a {@code COHORT_*} environment variable
 * ({@code --token-file} from {@code COHORT_TOKEN_FILE}: the long name in capitals, dashes as
 * underscores), else from the config file's provider, else its own default. So flags beat the
 * environment, which beats the file. The environment is given, not read here, so tests can set it.
 */
final class EnvironmentDefaults implements CommandLine.IDefaultValueProvider {
    private final Map<String, String> environment;
    private final CommandLine.IDefaultValueProvider file;   // null: no config file

    EnvironmentDefaults(Map<String, String> environment, CommandLine.IDefaultValueProvider file) {
        this.environment = Map.copyOf(environment);
        this.file = file;
    }

    /** The variable that sets {@code option}. */
    static String variable(OptionSpec option) {
        return "COHORT_" + option.longestName().replaceFirst("^-+", "").toUpperCase(Locale.ROOT).replace('-', '_');
    }

    @Override
    public String defaultValue(ArgSpec arg) throws Exception {
        if (!(arg instanceof OptionSpec option) || option.usageHelp() || option.versionHelp()) {
            return null;
        }
        String fromEnvironment = environment.get(variable(option));
        if (fromEnvironment != null) {
            return fromEnvironment;
        }
        return file == null ? null : file.defaultValue(arg);
    }
}
