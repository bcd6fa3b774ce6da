package io.cohort.common;

import io.grpc.Channel;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What code running inside a task can learn about where it runs. A worker daemon (or a child
 * JVM it supervises) installs its channel to the coordinator once, and marks each task's
 * thread while the task runs, so that objects a task captured (shared-object handles) reach
 * the coordinator and act on behalf of that task.
 */
public final class TaskContext {
    private static volatile Channel coordinator;
    private static volatile String workerId;
    private static volatile Codec codec = Codec.standard();
    private static final ThreadLocal<long[]> CURRENT = new ThreadLocal<>();

    private TaskContext() {}

    /**
     * Called once by the process that runs tasks: the worker daemon or a child JVM, with the
     * codec (and so the deserialization filter) that shared-object values are decoded with.
     */
    public static void installCoordinator(Channel channel, String worker, Codec taskCodec) {
        codec = taskCodec;
        coordinator = channel;
        workerId = worker;
    }

    /** The codec of the process running tasks; {@link Codec#standard()} until one is installed. */
    public static Codec codec() {
        return codec;
    }

    /** The channel to the coordinator of the process running tasks; empty in a client JVM. */
    public static Optional<Channel> coordinatorChannel() {
        return Optional.ofNullable(coordinator);
    }

    public static Optional<String> workerId() {
        return Optional.ofNullable(workerId);
    }

    /** Marks the calling thread as running attempt {@code attempt} of task {@code taskKey}. */
    public static void enterTask(long taskKey, int attempt) {
        CURRENT.set(new long[] {taskKey, attempt});
    }

    public static void exitTask() {
        CURRENT.remove();
    }

    /** The coordinator's key of the task the calling thread runs; empty outside a task. */
    public static OptionalLong currentTaskKey() {
        long[] c = CURRENT.get();
        return c == null ? OptionalLong.empty() : OptionalLong.of(c[0]);
    }

    public static int currentAttempt() {
        long[] c = CURRENT.get();
        return c == null ? 0 : (int) c[1];
    }
}
