package io.cohort.cli;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code cohort} command: the coordinator and worker daemons, plus the commands whose jars
 * are present ({@code primes} from cohort-examples, {@code bench} from cohort-bench, which the
 * release ships outside {@code lib/}).
 */
@Command(name = "cohort", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Cohort: a worker cluster with Python's concurrent.futures model.",
        subcommands = {CoordinatorMain.class, WorkerMain.class, StatusCommand.class, DrainCommand.class})
public final class CohortCli implements Runnable {
    /** Commands found by class name when their module is on the class path: name to class. */
    static final Map<String, String> OPTIONAL_COMMANDS = new LinkedHashMap<>();

    static {
        OPTIONAL_COMMANDS.put("primes", "io.cohort.examples.PrimeCount");
        OPTIONAL_COMMANDS.put("bench", "io.cohort.bench.Bench");
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Names the config file whose values are the flags' defaults (bin/cohort sets it). */
    static final String CONFIG_PROPERTY = "cohort.conf";

    public static void main(String[] args) {
        // The release's config file (bin/cohort names it) unless COHORT_CONF or --config names another.
        Map<String, String> env = new HashMap<>(System.getenv());
        String conf = System.getProperty(CONFIG_PROPERTY);
        if (conf != null) {
            env.putIfAbsent(CohortCommands.CONFIG_VARIABLE, conf);
        }
        System.exit(CohortCommands.execute(commandLine(null), args, env));
    }

    /**
     * The whole command tree, with the optional commands that are present and, when {@code
     * configFile} is not null, the defaults it holds.
     *
     * @throws IllegalArgumentException if the config file cannot be read or names no such flag
     */
    static CommandLine commandLine(String configFile) {
        CommandLine cli = new CommandLine(new CohortCli());
        OPTIONAL_COMMANDS.forEach((name, className) -> {
            try {
                cli.addSubcommand(name, Class.forName(className).getDeclaredConstructor().newInstance());
            } catch (ClassNotFoundException absent) {
                // that module is not on the class path: no such command here
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot make the " + name + " command", e);
            }
        });
        if (configFile != null) {
            ConfigFile config = ConfigFile.read(Path.of(configFile));
            config.check(cli);
            cli.setDefaultValueProvider(config);   // after every subcommand is added: it reaches those present
        }
        return cli;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "name a command: " + String.join(", ", spec.subcommands().keySet()));
    }
}
