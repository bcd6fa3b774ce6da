package io.cohort.cli;

import io.cohort.proto.v1.DrainRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cohort drain WORKER}: the worker takes no new tasks; the ones it runs finish. Takes the admin token. */
@Command(name = "drain", mixinStandardHelpOptions = true,
        description = "Drains a worker: it takes no new tasks and its running tasks finish. Takes the admin token"
                + " (--token-file). Exit status: 0 draining, 2 usage, 3 cannot connect, 4 permission denied,"
                + " 5 no such worker.")
public final class DrainCommand implements Callable<Integer> {
    @Mixin
    Connection connection;

    @Parameters(paramLabel = "WORKER", description = "The worker's id, as cohort status shows it.")
    String workerId;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        return connection.call(spec, admin -> {
            admin.drain(DrainRequest.newBuilder().setWorkerId(workerId).build());
            spec.commandLine().getOut().println("worker " + workerId + " is draining: it takes no new tasks,"
                    + " and its running ones finish");
            spec.commandLine().getOut().flush();
            return ExitCodes.OK;
        });
    }
}
