package io.cohort.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Where an option not given on the command line takes its value: a {@code COHORT_*} environment
 * variable ({@code --token-file} reads {@code COHORT_TOKEN_FILE}), else the config file ({@code
 * status.token-file}, then {@code token-file}), else the option's own default. So flags beat the
 * environment, which beats the file. The environment and the file are given, not read from
 * the process, so tests can set them.
 */
public final class CohortDefaults implements CommandLine.IDefaultValueProvider {
    /** The environment variable naming the config file (the flag is {@code --config}). */
    public static final String CONFIG_VARIABLE = "COHORT_CONFIG";

    private final Map<String, String> environment;
    private final Properties file;

    CohortDefaults(Map<String, String> environment, Properties file) {
        this.environment = Map.copyOf(environment);
        this.file = file;
    }

    /**
     * The defaults for a run with {@code args}: the config file is the one {@code --config} names
     * there, else {@code COHORT_CONFIG}'s, else none. A file that cannot be read is a usage error.
     */
    public static CohortDefaults of(String[] args, Map<String, String> environment) {
        Path config = configFile(args, environment);
        Properties properties = new Properties();
        if (config != null) {
            try (Reader in = Files.newBufferedReader(config, StandardCharsets.UTF_8)) {
                properties.load(in);
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalArgumentException("cannot read the config file " + config + ": " + e.getMessage(), e);
            }
        }
        return new CohortDefaults(environment, properties);
    }

    private static Path configFile(String[] args, Map<String, String> environment) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                return Path.of(args[i + 1]);
            }
            if (args[i].startsWith("--config=")) {
                return Path.of(args[i].substring("--config=".length()));
            }
            if (args[i].equals("--")) {
                break;
            }
        }
        String named = environment.get(CONFIG_VARIABLE);
        return named == null || named.isBlank() ? null : Path.of(named);
    }

    /** The variable that sets {@code option}: COHORT_ and its long name in capitals, dashes as underscores. */
    static String variable(OptionSpec option) {
        return "COHORT_" + key(option).toUpperCase(Locale.ROOT).replace('-', '_');
    }

    private static String key(OptionSpec option) {
        return option.longestName().replaceFirst("^-+", "");
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option) || option.usageHelp() || option.versionHelp()
                || option.longestName().equals("--config")) {
            return null;
        }
        String fromEnvironment = environment.get(variable(option));
        if (fromEnvironment != null) {
            return fromEnvironment;
        }
        String command = option.command() == null ? null : option.command().name();
        String qualified = command == null ? null : file.getProperty(command + "." + key(option));
        return qualified != null ? qualified : file.getProperty(key(option));
    }
}
