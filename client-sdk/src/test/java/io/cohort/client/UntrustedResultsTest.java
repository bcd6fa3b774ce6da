package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.common.Codec;
import io.cohort.common.TaskErrors;
import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.ElementError;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The client checks what a worker says before it trusts it: a bad index or count fails the
 * task it belongs to, with a message saying what was wrong, and every other task in the same
 * message completes. The worker here is {@link HostileWorker}, on a real coordinator.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UntrustedResultsTest {
    private static final Codec CODEC = Codec.standard();

    /** Answers chunks by their first input: [0, 1] with an error for element 7, [2, 3] with one value; others truly. */
    private static AttachRequest lie(List<TaskAssign> assigns) {
        AttachRequest.Builder reply = AttachRequest.newBuilder();
        for (TaskAssign a : assigns) {
            Object argument = CODEC.decode(a.getSpec().getArgument(), UntrustedResultsTest.class.getClassLoader());
            WorkerTaskResult.Builder r = WorkerTaskResult.newBuilder().setTaskKey(a.getTaskKey())
                    .setAttempt(a.getAttempt()).setStatus(TaskStatus.SUCCEEDED).setRunNanos(1);
            if (!a.getSpec().getChunk()) {
                r.setValue(CODEC.encode((Long) argument * 10));
            } else {
                Object[] inputs = (Object[]) argument;
                long first = (Long) inputs[0];
                if (first == 0) {
                    r.setValue(CODEC.encode(new Object[] {0L, 1L})).addElementErrors(ElementError.newBuilder()
                            .setIndex(7).setError(TaskErrors.plain("java.lang.IllegalStateException", "seven", "")));
                } else if (first == 2) {
                    r.setValue(CODEC.encode(new Object[] {2L}));
                } else {
                    r.setValue(CODEC.encode(new Object[] {first, null})).addElementErrors(ElementError.newBuilder()
                            .setIndex(1).setError(TaskErrors.plain("java.lang.IllegalStateException", "five", "")));
                }
            }
            reply.addResults(r);
        }
        return reply.build();
    }

    @Test
    void aChunkWithABadElementIndexOrCountFailsAloneAndEveryOtherTaskCompletes() throws Exception {
        try (CoordinatorServer coordinator = CoordinatorServer.start(CoordinatorConfig.builder().port(0).build());
             HostileWorker worker = new HostileWorker(coordinator.target(), "hostile-1", 8, 5, UntrustedResultsTest::lie);
             CohortExecutor cohort = Cohort.connect(coordinator.target())) {
            RemoteFunction<Long, Long> same = x -> x;
            TaskFuture<Long> before = cohort.submit(same, 1L);
            MapResult<Long> map = cohort.map(same, List.of(0L, 1L, 2L, 3L, 4L, 5L),
                    MapOptions.builder().chunkSize(2).build());
            TaskFuture<Long> after = cohort.submit(same, 2L);

            assertEquals(10L, before.get(30, TimeUnit.SECONDS));
            assertEquals(20L, after.get(30, TimeUnit.SECONDS));
            Iterator<Long> it = map.iterator();
            for (int i = 0; i < 2; i++) {
                TaskFailedException e = assertThrows(TaskFailedException.class, it::next);
                CohortException cause = assertInstanceOf(CohortException.class, e.getCause());
                assertTrue(cause.getMessage().endsWith("worker hostile-1 sent an error for element 7 of a map chunk "
                        + "of 2 elements"), cause.getMessage());
            }
            for (int i = 2; i < 4; i++) {
                TaskFailedException e = assertThrows(TaskFailedException.class, it::next);
                assertTrue(e.getCause().getMessage().endsWith("worker hostile-1 sent 1 results for a map chunk of 2 inputs"),
                        e.getCause().getMessage());
            }
            assertEquals(4L, it.next());
            TaskFailedException five = assertThrows(TaskFailedException.class, it::next);
            RemoteTaskException remote = assertInstanceOf(RemoteTaskException.class, five.getCause());
            assertEquals("five", remote.remoteMessage());
            assertTrue(!it.hasNext());
        }
    }
}
