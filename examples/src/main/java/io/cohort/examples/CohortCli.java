package io.cohort.examples;

import io.cohort.cli.CohortCommands;
import io.cohort.cli.DrainCommand;
import io.cohort.cli.StatusCommand;
import io.cohort.coordinator.CoordinatorMain;
import io.cohort.worker.WorkerMain;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code cohort} command: one jar for the coordinator, the worker and the examples. */
@Command(name = "cohort", mixinStandardHelpOptions = true,
        description = "Cohort: a worker cluster with Python's concurrent.futures model.",
        subcommands = {CoordinatorMain.class, WorkerMain.class, StatusCommand.class, DrainCommand.class, PrimeCount.class,
                io.cohort.bench.Bench.class})
public final class CohortCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(CohortCommands.execute(new CommandLine(new CohortCli()), args, System.getenv()));
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command: coordinator, worker, status, drain, primes or bench");
    }
}
