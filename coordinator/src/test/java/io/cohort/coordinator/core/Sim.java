package io.cohort.coordinator.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.Digests;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/** Drives a {@link Scheduler} with a fake clock, validating after every step. */
final class Sim {
    static final long HEARTBEAT_MS = 10_000;
    static final long PLACEMENT_MS = 30_000;
    static final TaskSpec BODY = TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("body")).build();

    final Scheduler s;
    long now;
    private final List<Long> workerStreams = new ArrayList<>();

    Sim() {
        this(new Scheduler(HEARTBEAT_MS, PLACEMENT_MS));
    }

    Sim(Scheduler s) {
        this.s = s;
    }

    List<Command> on(Event e) {
        List<Command> out = s.handle(e);
        s.validate();
        return out;
    }

    List<Command> tick(long millis) {
        now += millis;
        return on(new Event.Tick(now));
    }

    /** Moves the clock in steps shorter than the heartbeat timeout, every worker heard at each. */
    List<Command> advance(long millis) {
        List<Command> out = new ArrayList<>();
        while (millis > 0) {
            long step = Math.min(millis, HEARTBEAT_MS / 2);
            for (long w : workerStreams) {
                out.addAll(on(new Event.WorkerHeard(w)));
            }
            out.addAll(tick(step));
            millis -= step;
        }
        return out;
    }

    List<Command> client(long stream) {
        return on(new Event.SessionOpened(stream, "test"));
    }

    List<Command> worker(long stream, String id, int slots, int prefetch) {
        return worker(stream, id, slots, prefetch, Map.of(), Set.of());
    }

    List<Command> worker(long stream, String id, int slots, int prefetch, Map<String, Double> resources, Set<String> labels) {
        workerStreams.add(stream);
        return on(new Event.WorkerAttached(stream, id, "host", 42, slots, prefetch, resources, labels, false));
    }

    List<Command> submit(long stream, long taskId) {
        return submit(stream, taskId, TaskPolicy.getDefaultInstance());
    }

    List<Command> submit(long stream, long taskId, TaskPolicy policy) {
        return on(new Event.TaskSubmitted(stream, taskId, BODY, policy));
    }

    List<Command> started(long workerStream, Command.Assign a) {
        return on(new Event.TaskStartedOnWorker(workerStream, a.assign().getTaskKey(), a.assign().getAttempt()));
    }

    List<Command> result(long workerStream, Command.Assign a, TaskStatus status) {
        return on(new Event.TaskEnded(workerStream, WorkerTaskResult.newBuilder().setTaskKey(a.assign().getTaskKey())
                .setAttempt(a.assign().getAttempt()).setStatus(status).setValue(ByteString.copyFromUtf8("v")).build()));
    }

    static FunctionDef function(String body) {
        ByteString b = ByteString.copyFromUtf8(body);
        return FunctionDef.newBuilder().setBody(b).setDigest(Digests.sha256(b)).build();
    }

    static <T extends Command> List<T> all(List<Command> commands, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (Command c : commands) {
            if (type.isInstance(c)) {
                out.add(type.cast(c));
            }
        }
        return out;
    }

    static <T extends Command> T only(List<Command> commands, Class<T> type) {
        List<T> found = all(commands, type);
        assertEquals(1, found.size(), () -> "expected one " + type.getSimpleName() + " in " + commands);
        return found.get(0);
    }

    static <T extends Command> T only(List<Command> commands, Class<T> type, Predicate<T> which) {
        List<T> found = all(commands, type).stream().filter(which).toList();
        assertEquals(1, found.size(), () -> "expected one matching " + type.getSimpleName() + " in " + commands);
        return found.get(0);
    }

    /** Task names ("name" policy field) of the assigns, in order. */
    static List<String> assignedNames(List<Command> commands) {
        return all(commands, Command.Assign.class).stream().map(a -> a.assign().getName()).toList();
    }

    static TaskPolicy named(String name) {
        return TaskPolicy.newBuilder().setName(name).build();
    }

    static void assertNone(List<Command> commands) {
        assertTrue(commands.isEmpty(), () -> "expected no commands, got " + commands);
    }
}
