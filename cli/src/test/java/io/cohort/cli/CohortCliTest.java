package io.cohort.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.common.Protocol;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The {@code cohort} command tree: its version line, its config file, the state directory's default. */
class CohortCliTest {
    @TempDir
    Path dir;

    @Test
    void versionNamesTheReleaseAndTheProtocol() {
        StringWriter out = new StringWriter();
        CommandLine cli = CohortCli.commandLine(null).setOut(new PrintWriter(out, true));
        assertEquals(0, cli.execute("--version"));
        assertTrue(out.toString().matches("cohort \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(protocol " + Protocol.VERSION + "\\)\\s*"),
                out.toString());
    }

    @Test
    void theConfigFileGivesDefaultsThatFlagsOverride() throws IOException {
        Path conf = Files.writeString(dir.resolve("cohort.conf"),
                "# a comment\ncoordinator.port = 7171\ncoordinator.state-dir = /srv/cohort\nworker.slots = 3\n");
        CommandLine cli = CohortCli.commandLine(conf.toString());
        cli.parseArgs("coordinator");
        CoordinatorMain fromFile = cli.getSubcommands().get("coordinator").getCommand();
        assertEquals(7171, fromFile.port);
        assertEquals(Path.of("/srv/cohort"), fromFile.stateDir);
        cli.parseArgs("coordinator", "--port", "7272");
        assertEquals(7272, ((CoordinatorMain) cli.getSubcommands().get("coordinator").getCommand()).port,
                "the command line wins");

        cli.parseArgs("worker", "--coordinator", "h:1");
        assertEquals(3, ((WorkerMain) cli.getSubcommands().get("worker").getCommand()).config().slots());
    }

    @Test
    void aKeyThatNamesNoFlagIsRefusedNamingItAndTheFile() throws IOException {
        Path conf = Files.writeString(dir.resolve("cohort.conf"), "coordinator.prot = 7171\nworker.slots = 3\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CohortCli.commandLine(conf.toString()));
        assertTrue(e.getMessage().contains(conf.toString()) && e.getMessage().contains("coordinator.prot")
                && !e.getMessage().contains("worker.slots"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CohortCli.commandLine(dir.resolve("none.conf").toString()));
        assertTrue(e.getMessage().contains("none.conf"), e.getMessage());
    }

    @Test
    void theStateDirectoryFollowsXdgAndNeverTheWorkingDirectory() {
        assertEquals(Path.of("/given"), StateDirectory.resolve(Path.of("/given"), Map.of(), "/home/u"));
        assertEquals(Path.of("/xdg/state/cohort"),
                StateDirectory.resolve(null, Map.of("XDG_STATE_HOME", "/xdg/state"), "/home/u"));
        assertEquals(Path.of("/home/u/.local/state/cohort"),
                StateDirectory.resolve(null, Map.of("XDG_STATE_HOME", "relative"), "/home/u"), "relative is ignored");
        assertEquals(Path.of("/home/u/.local/state/cohort"), StateDirectory.resolve(null, Map.of(), "/home/u"));
    }
}
