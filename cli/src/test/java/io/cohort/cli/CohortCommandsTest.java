package io.cohort.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The cohort command line in this JVM: every --help, and where options take their values from. */
class CohortCommandsTest {
    @TempDir
    Path dir;



    private static List<List<String>> commandPaths(CommandLine c, List<String> path) {
        List<List<String>> all = new ArrayList<>();
        all.add(path);
        c.getSubcommands().forEach((name, sub) -> {
            List<String> next = new ArrayList<>(path);
            next.add(name);
            all.addAll(commandPaths(sub, next));
        });
        return all;
    }

    @Test
    void everyCommandHasHelp() {
        // cohort, coordinator, worker, status, drain (primes and bench join where their modules are present)
        List<List<String>> paths = commandPaths(CohortCli.commandLine(null), List.of());
        assertTrue(paths.size() >= 5, "cohort and its commands: " + paths);
        for (List<String> path : paths) {
            List<String> args = new ArrayList<>(path);
            args.add("--help");
            CliRun r = CliRun.of(Map.of(), args.toArray(String[]::new));
            assertEquals(0, r.exit(), args + ": " + r.err());
            assertTrue(r.out().startsWith("Usage: cohort" + (path.isEmpty() ? "" : " " + String.join(" ", path))),
                    args + ": " + r.out());
        }
        CliRun drain = CliRun.of(Map.of(), "drain", "--help");
        assertTrue(drain.out().contains("--token-file") && drain.out().contains("--config")
                && drain.out().contains("WORKER"), drain.out());
        CliRun worker = CliRun.of(Map.of(), "worker", "--help");
        assertTrue(worker.out().contains("--log-format") && worker.out().contains("--log-level"), worker.out());
    }

    @Test
    void flagsBeatEnvironmentWhichBeatsTheConfigFileWhichBeatsDefaults() throws IOException {
        Path file = dir.resolve("cohort.properties");
        Files.writeString(file, "status.address=file-host:1\nstatus.timeout=7s\ndrain.timeout=8s\ncoordinator.port=7171\n");
        Map<String, String> env = Map.of("COHORT_CONF", file.toString(), "COHORT_ADDRESS", "env-host:2");

        assertEquals("flag-host:3", option(env, "status", "--address", "--address", "flag-host:3"));
        assertEquals("env-host:2", option(env, "status", "--address"));
        Map<String, String> noVariable = new HashMap<>(env);
        noVariable.remove("COHORT_ADDRESS");
        assertEquals("file-host:1", option(noVariable, "status", "--address"));
        assertEquals(Duration.ofSeconds(7), option(noVariable, "status", "--timeout"), "a key is COMMAND.FLAG");
        assertEquals(Duration.ofSeconds(8), option(noVariable, "drain", "--timeout"));
        assertEquals("127.0.0.1:7070", option(noVariable, "drain", "--address"), "status.address is not drain's");
        assertEquals(7171, (int) option(noVariable, "coordinator", "--port"), "the daemons read it too");
        assertEquals("127.0.0.1:7070", option(Map.of(), "status", "--address"), "the default");
        assertEquals(Duration.ofSeconds(9), option(Map.of(), "status", "--timeout", "--config", configWith("status.timeout=9s")),
                "--config names the file");
        assertEquals(LineFormatter.Format.JSON, option(Map.of("COHORT_LOG_FORMAT", "json"), "worker", "--log-format"));
    }

    private String configWith(String line) throws IOException {
        Path f = Files.createTempFile(dir, "flag", ".properties");
        Files.writeString(f, line + "\n");
        return f.toString();
    }

    /** The value {@code name} takes in {@code command} parsed with {@code more} flags, as the CLI configures it. */
    @SuppressWarnings("unchecked")
    private static <T> T option(Map<String, String> env, String command, String name, String... more) {
        List<String> args = new ArrayList<>(List.of(command));
        args.addAll(List.of(more));
        if (command.equals("drain")) {
            args.add("w-1");
        }
        if (command.equals("worker")) {
            args.addAll(List.of("--coordinator", "127.0.0.1:1"));
        }
        CommandLine root = new CommandLine(new CohortCli());
        CohortCommands.prepare(root);
        root.setDefaultValueProvider(CohortCommands.defaults(root, args.toArray(String[]::new), env));
        CommandLine.ParseResult parsed = root.parseArgs(args.toArray(String[]::new));
        return (T) parsed.subcommand().commandSpec().findOption(name).getValue();
    }

    @Test
    void badInputIsAUsageError() throws IOException {
        CliRun missing = CliRun.of(Map.of("COHORT_CONF", dir.resolve("absent.properties").toString()), "status");
        assertEquals(ExitCodes.USAGE, missing.exit());
        assertTrue(missing.err().contains("absent.properties"), missing.err());
        CliRun typo = CliRun.of(Map.of(), "status", "--config", configWith("status.tokn-file=x"));
        assertEquals(ExitCodes.USAGE, typo.exit());
        assertTrue(typo.err().contains("no such flag: status.tokn-file"), typo.err());
        CliRun format = CliRun.of(Map.of(), "coordinator", "--log-format", "xml");
        assertEquals(ExitCodes.USAGE, format.exit());
        assertTrue(format.err().contains("'xml' is not text or json"), format.err());
        assertEquals(ExitCodes.USAGE, CliRun.of(Map.of(), "drain").exit(), "drain names a worker");
    }

    @Test
    void nothingListeningIsCannotConnect() {
        CliRun r = CliRun.of(Map.of("COHORT_ADDRESS", "127.0.0.1:1"), "status");
        assertEquals(ExitCodes.CANNOT_CONNECT, r.exit());
        assertTrue(r.err().contains("cannot reach the coordinator at 127.0.0.1:1"), r.err());
    }
}
