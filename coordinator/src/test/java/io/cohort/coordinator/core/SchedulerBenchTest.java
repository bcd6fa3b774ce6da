package io.cohort.coordinator.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/** The core's throughput and memory with many queued tasks; run with -Dcohort.bench=true. */
@EnabledIfSystemProperty(named = "cohort.bench", matches = "true")
class SchedulerBenchTest {
    @Test
    void millionQueuedTasks() {
        int n = 1_000_000;
        Scheduler s = new Scheduler(10_000, 30_000);
        List<Command> out = new ArrayList<>();
        s.apply(new Event.SessionOpened(1, "bench"), out::add);
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            TaskSpec spec = TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("b")).build();
            s.apply(new Event.TaskSubmitted(1, i, spec, TaskPolicy.getDefaultInstance()), out::add);
        }
        long t1 = System.nanoTime();
        System.gc();
        long after = rt.totalMemory() - rt.freeMemory();
        System.out.printf("submit: %.0f tasks/s; %d bytes per queued task (spec included)%n",
                n / ((t1 - t0) / 1e9), (after - before) / n);
        for (int w = 0; w < 16; w++) {
            s.apply(new Event.WorkerAttached(100 + w, "", "h", 1, 64, 16, Map.of(), Set.of(), false), out::add);
        }
        s.dispatch(out::add);
        long t2 = System.nanoTime();
        int done = 0;
        while (done < n) {
            List<Command> batch = new ArrayList<>(out);
            out.clear();
            for (Command c : batch) {
                if (c instanceof Command.Assign a) {
                    s.apply(new Event.TaskEnded(a.stream(), WorkerTaskResult.newBuilder()
                            .setTaskKey(a.assign().getTaskKey()).setAttempt(a.assign().getAttempt())
                            .setStatus(TaskStatus.SUCCEEDED).build()), out::add);
                    done++;
                }
            }
            s.dispatch(out::add);
        }
        long t3 = System.nanoTime();
        System.out.printf("assign+result: %.0f tasks/s%n", n / ((t3 - t2) / 1e9));
        assertEquals(n, s.completedCount());
        s.validate();
    }
}
