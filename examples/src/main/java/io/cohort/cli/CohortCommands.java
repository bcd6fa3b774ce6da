package io.cohort.cli;

import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;

/**
 * Sets up the {@code cohort} command line: every operator command ({@code coordinator},
 * {@code worker}, {@code status}, {@code drain}) takes {@code --config} and its defaults from
 * {@link CohortDefaults}; the daemons take {@link LogOptions}, installed before they run.
 */
public final class CohortCommands {
    private static final Set<String> DAEMONS = Set.of("coordinator", "worker");
    private static final Set<String> CONFIGURED = Set.of("coordinator", "worker", "status", "drain");

    private CohortCommands() {
    }

    /** Runs {@code args} against {@code root} (whose subcommands include the operator commands); returns the exit status. */
    public static int execute(CommandLine root, String[] args, Map<String, String> environment) {
        CohortDefaults defaults;
        try {
            defaults = CohortDefaults.of(args, environment);
        } catch (IllegalArgumentException e) {
            root.getErr().println("cohort: " + e.getMessage());
            root.getErr().flush();
            return ExitCodes.USAGE;
        }
        prepare(root);
        root.setDefaultValueProvider(defaults);
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
