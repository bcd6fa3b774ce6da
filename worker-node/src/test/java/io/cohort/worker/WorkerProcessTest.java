package io.cohort.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A worker daemon as its JVM's purpose: what it prints and the status it returns. */
@Timeout(30)
class WorkerProcessTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @Test
    void attachesOverTcpPrintsItsLineAndExitsOneWhenRefused() throws Exception {
        try (FakeCoordinator coordinator = new FakeCoordinator(true)) {
            String target = "127.0.0.1:" + coordinator.port();
            WorkerConfig config = WorkerConfig.builder().coordinator(target).workerId("w-9").slots(1).build();
            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> WorkerProcess.run(config,
                    Optional.empty(), false, new PrintWriter(out, true), new PrintWriter(err, true)));
            FakeCoordinator.Stream s = coordinator.nextStream();
            assertEquals("w-9", s.hello().getWorkerId());
            s.welcome("w-9", 30_000);
            s.send(io.cohort.proto.v1.AttachResponse.newBuilder().addAssigns(io.cohort.proto.v1.TaskAssign.newBuilder()
                    .setTaskKey(1).setAttempt(1).setSpec(io.cohort.proto.v1.TaskSpec.newBuilder()
                            .setBody(io.cohort.common.Codec.standard().encode((io.cohort.common.TaskBody) x -> "tcp"))))
                    .build());
            assertEquals(io.cohort.proto.v1.TaskStatus.SUCCEEDED, s.result(1).getStatus());
            s.fail(Status.FAILED_PRECONDITION.withDescription("go away"));
            assertEquals(1, exit.get(20, TimeUnit.SECONDS));
            assertTrue(out.toString().contains("cohort worker w-9 attached to " + target), out.toString());
            assertTrue(err.toString().contains("go away"), err.toString());
        }
    }
}
