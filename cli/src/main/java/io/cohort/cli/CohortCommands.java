package io.cohort.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;

/**
 * Sets up the {@code cohort} command line: every operator command ({@code coordinator},
 * {@code worker}, {@code status}, {@code drain}) takes {@code --config FILE} (else {@code
 * COHORT_CONF}) and its defaults from {@link EnvironmentDefaults} over that {@link ConfigFile};
 * the daemons take {@link LogOptions}, installed before they run.
 */
public final class CohortCommands {
    private static final Set<String> DAEMONS = Set.of("coordinator", "worker");
    private static final Set<String> CONFIGURED = Set.of("coordinator", "worker", "status", "drain");
    /** The environment variable naming the config file (the flag is {@code --config}). */
    static final String CONFIG_VARIABLE = "COHORT_CONF";

    private CohortCommands() {
    }

    /** Runs {@code args} against {@code root} (whose subcommands include the operator commands); returns the exit status. */
    public static int execute(CommandLine root, String[] args, Map<String, String> environment) {
        prepare(root);
        try {
            root.setDefaultValueProvider(defaults(root, args, environment));
        } catch (IllegalArgumentException e) {
            root.getErr().println("cohort: " + e.getMessage());
            root.getErr().flush();
            return ExitCodes.USAGE;
        }
        root.setExecutionStrategy(parsed -> {
            List<CommandLine> chain = parsed.asCommandLineList();
            CommandLine leaf = chain.get(chain.size() - 1);
            if (leaf.getMixins().get("logging") instanceof LogOptions logging
                    && !leaf.isUsageHelpRequested() && !leaf.isVersionHelpRequested()) {
                logging.install();
            }
            return new CommandLine.RunLast().execute(parsed);
        });
        return root.execute(args);
    }

    /**
     * The environment over the config file that {@code --config} names in {@code args}, else
     * {@code COHORT_CONF}, else none. Call after {@link #prepare}.
     *
     * @throws IllegalArgumentException if the file cannot be read or names no such flag
     */
    static EnvironmentDefaults defaults(CommandLine root, String[] args, Map<String, String> environment) {
        String named = environment.get(CONFIG_VARIABLE);
        for (int i = 0; i < args.length && !args[i].equals("--"); i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                named = args[i + 1];
            } else if (args[i].startsWith("--config=")) {
                named = args[i].substring("--config=".length());
            }
        }
        ConfigFile file = null;
        if (named != null && !named.isBlank()) {
            file = ConfigFile.read(Path.of(named));
            file.check(root);
        }
        return new EnvironmentDefaults(environment, file);
    }

    /** Adds --config to the operator commands and the log options to the daemons. */
    static void prepare(CommandLine root) {
        root.getSubcommands().forEach((name, sub) -> {
            if (CONFIGURED.contains(name) && !sub.getMixins().containsKey("config")) {
                sub.addMixin("config", new ConfigOption());
                if (DAEMONS.contains(name)) {
                    sub.addMixin("logging", new LogOptions());
                }
            }
        });
    }
}
