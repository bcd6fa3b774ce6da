package io.cohort.bench.jmh;

import com.google.protobuf.ByteString;
import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.coordinator.core.Scheduler;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * S3: the scheduler core alone, fed events directly (no gRPC, threads or clock). One
 * invocation is a batch of {@link #TASKS} tasks submitted by one client, dispatched to 16
 * attached workers and completed: 2 events per task (submitted, ended), so the score is
 * events handled per second. The commands go to a sink that only counts them.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class SchedulerJmh {
    static final int TASKS = 1_000;
    private static final int WORKERS = 16;
    private static final long CLIENT = 1;
    private static final TaskSpec SPEC = TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("b")).build();
    private static final TaskPolicy POLICY = TaskPolicy.getDefaultInstance();

    private Scheduler scheduler;
    private final List<Command.Assign> assigns = new ArrayList<>(TASKS);
    private long commands;
    private long nextTaskId;

    @Setup(Level.Trial)
    public void attach() {
        scheduler = new Scheduler(10_000, 30_000);
        scheduler.apply(new Event.SessionOpened(CLIENT, "jmh"), this::sink);
        for (int w = 0; w < WORKERS; w++) {
            // credit (slots + prefetch) covers a whole batch, as a busy cluster's would
            scheduler.apply(new Event.WorkerAttached(100 + w, "", "h", 1, 8, TASKS / WORKERS, Map.of(), Set.of(), false),
                    this::sink);
        }
        assigns.clear();
    }

    private void sink(Command c) {
        commands++;
        if (c instanceof Command.Assign a) {
            assigns.add(a);
        }
    }

    @Benchmark
    @OperationsPerInvocation(2 * TASKS)
    public long submitDispatchComplete() {
        for (int i = 0; i < TASKS; i++) {
            scheduler.apply(new Event.TaskSubmitted(CLIENT, nextTaskId++, SPEC, POLICY), this::sink);
        }
        scheduler.dispatch(this::sink);
        int done = 0;
        for (int round = 0; done < TASKS && round < 100; round++) {   // bounded: credit is freed each round
            List<Command.Assign> batch = new ArrayList<>(assigns);
            assigns.clear();
            for (Command.Assign a : batch) {
                scheduler.apply(new Event.TaskEnded(a.stream(), WorkerTaskResult.newBuilder()
                        .setTaskKey(a.assign().getTaskKey()).setAttempt(a.assign().getAttempt())
                        .setStatus(TaskStatus.SUCCEEDED).build()), this::sink);
                done++;
            }
            scheduler.dispatch(this::sink);
        }
        if (done != TASKS) {
            throw new IllegalStateException("only " + done + " of " + TASKS + " tasks completed");
        }
        return commands;
    }
}
