package io.cohort.cli;


import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import picocli.CommandLine;

/** One run of the cohort command line in this JVM, with the environment given: its exit status and output. */
record CliRun(int exit, String out, String err) {
    static CliRun of(Map<String, String> env, String... args) {
        CommandLine root = CohortCli.commandLine(null);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        root.setOut(new PrintWriter(out));
        root.setErr(new PrintWriter(err));
        int exit = CohortCommands.execute(root, args, env);
        return new CliRun(exit, out.toString(), err.toString());
    }
}
