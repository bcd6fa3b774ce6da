package io.cohort.worker;

import com.google.protobuf.ByteString;
import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * The child JVMs that run {@code Isolation.PROCESS} tasks, as Dask's nanny does: kept per
 * isolation group (never shared across groups), one task at a time each, reused, replaced
 * after the task's {@code max_tasks_per_child}, ended after {@link #IDLE_MS} unused.
 *
 * <p>{@link #run} is called on a slot thread and relays: it sends the task to a child and
 * waits for the result, so the slot state machine treats the task like any other. An
 * interrupt of the slot thread (cancel, timeout) becomes a cancel order to the child; a child
 * whose task does not stop within {@link #GRACE_MS} is killed. A child that dies while
 * running a task ends that task as {@code WORKER_LOST}, which the coordinator counts as a
 * lost attempt; the next task of that group gets a new child.
 *
 * <p>Thread-safe.
 */
final class Children implements AutoCloseable {
    static final long IDLE_MS = 60_000;
    static final long GRACE_MS = 2_000;

    private final WorkerConfig config;
    private final TaskRunner runner;
    private final LongSupplier clockMillis;
    private final Map<String, ArrayDeque<Child>> idle = new HashMap<>();   // guarded by this
    private final Set<Child> all = new HashSet<>();                         // guarded by this
    private boolean closed;                                                 // guarded by this

    Children(WorkerConfig config, TaskRunner runner, LongSupplier clockMillis) {
        this.config = config;
        this.runner = runner;
        this.clockMillis = clockMillis;
    }

    /** One child and the task it runs now. */
    private static final class Child implements ChildJvm.Listener {
        final String group;
        final Set<ByteString> functions = new HashSet<>();
        ChildJvm jvm;
        int tasks;
        long idleSince;
        volatile TaskAssign running;
        volatile CompletableFuture<WorkerTaskResult> result = new CompletableFuture<>();
        volatile String workerId = "";
        volatile boolean dead;
        volatile int exitCode;

        Child(String group) {
            this.group = group;
        }

        @Override
        public void message(ChildJvm child, AttachRequest m) {
            for (WorkerTaskResult r : m.getResultsList()) {
                result.complete(r);
            }
        }

        @Override
        public void exited(ChildJvm child, int code) {
            exitCode = code;
            dead = true;
            TaskAssign a = running;
            if (a != null) {
                result.complete(WorkerTaskResult.newBuilder().setTaskKey(a.getTaskKey()).setAttempt(a.getAttempt())
                        .setStatus(TaskStatus.WORKER_LOST)
                        .setError(TaskErrors.plain("io.cohort.client.WorkerLostException", "the child JVM (pid "
                                + child.pid() + ") running task " + WorkerState.describe(a) + " on worker " + workerId
                                + " died with exit code " + code, workerId))
                        .build());
            }
        }
    }

    /** Runs the task in a child of its group; never throws (see the class notes). */
    WorkerTaskResult run(TaskAssign assign, String workerId) {
        String group = assign.getSpec().getIsolationGroup();
        Child child;
        try {
            child = borrow(group, workerId);
        } catch (IOException e) {
            return failed(assign, workerId, "cannot start a child JVM on worker " + workerId + ": " + e.getMessage());
        }
        child.workerId = workerId;
        CompletableFuture<WorkerTaskResult> result = new CompletableFuture<>();
        child.result = result;
        child.running = assign;
        if (child.dead) {
            child.exited(child.jvm, child.exitCode);   // it died idle, after its reader looked for a task
        }
        AttachResponse.Builder m = AttachResponse.newBuilder();
        // What this worker was told to forget, the child forgets too.
        for (java.util.Iterator<ByteString> it = child.functions.iterator(); it.hasNext(); ) {
            ByteString sent = it.next();
            if (runner.functionBody(sent) == null) {
                it.remove();
                m.addForgetFunctions(sent);
            }
        }
        ByteString digest = assign.getSpec().getFunctionDigest();
        if (!digest.isEmpty() && child.functions.add(digest)) {
            ByteString body = runner.functionBody(digest);
            if (body != null) {
                m.addFunctions(FunctionDef.newBuilder().setDigest(digest).setBody(body));
            }   // else the child reports the unknown digest as the task's failure
        }
        WorkerTaskResult r;
        try {
            child.jvm.send(m.addAssigns(assign).build());
            r = result.get();
        } catch (InterruptedException e) {
            r = stop(child, assign);
        } catch (IOException | ExecutionException e) {
            child.jvm.close(true);   // the reader reports it dead, completing the result
            r = result.join();
        }
        child.running = null;
        giveBack(child, r, assign.getSpec().getMaxTasksPerChild());
        return r;
    }

    /** Asks the child to interrupt the task; kills the child if the task does not stop soon. */
    private static WorkerTaskResult stop(Child child, TaskAssign assign) {
        try {
            child.jvm.send(AttachResponse.newBuilder().addCancels(TaskCancelOrder.newBuilder()
                    .setTaskKey(assign.getTaskKey()).setAttempt(assign.getAttempt()).setInterrupt(true)).build());
            return child.result.get(GRACE_MS, TimeUnit.MILLISECONDS);
        } catch (IOException | InterruptedException | ExecutionException | TimeoutException e) {
            child.jvm.close(true);
            return child.result.join();
        }
    }

    private Child borrow(String group, String workerId) throws IOException {
        synchronized (this) {
            if (closed) {
                throw new IOException("the worker is stopping");
            }
            ArrayDeque<Child> free = idle.get(group);
            Child c = free == null ? null : free.pollFirst();
            while (c != null && c.dead) {
                all.remove(c);
                c = free.pollFirst();
            }
            if (free != null && free.isEmpty()) {
                idle.remove(group);
            }
            if (c != null) {
                return c;
            }
        }
        Child c = new Child(group);
        c.jvm = ChildJvm.start(config, workerId, List.of(), false, false, c, runner.codeCache());   // outside the lock: slots start children in parallel
        synchronized (this) {
            if (!closed) {
                all.add(c);
                return c;
            }
        }
        c.jvm.close(true);
        throw new IOException("the worker is stopping");
    }

    private void giveBack(Child c, WorkerTaskResult r, int maxTasks) {
        c.tasks++;
        boolean keep = r.getStatus() != TaskStatus.WORKER_LOST && (maxTasks == 0 || c.tasks < maxTasks);
        synchronized (this) {
            if (keep && !closed) {
                c.idleSince = clockMillis.getAsLong();
                idle.computeIfAbsent(c.group, g -> new ArrayDeque<>()).addFirst(c);   // most recent first
                return;
            }
            all.remove(c);
        }
        c.jvm.close(r.getStatus() == TaskStatus.WORKER_LOST);
    }

    /** Ends children idle for longer than {@link #IDLE_MS}; called now and then by a timer. */
    void reapIdle() {
        long now = clockMillis.getAsLong();
        List<Child> reaped = new ArrayList<>();
        synchronized (this) {
            for (Iterator<ArrayDeque<Child>> groups = idle.values().iterator(); groups.hasNext(); ) {
                ArrayDeque<Child> free = groups.next();
                free.removeIf(c -> {
                    boolean old = now - c.idleSince >= IDLE_MS;
                    if (old) {
                        reaped.add(c);
                        all.remove(c);
                    }
                    return old;
                });
                if (free.isEmpty()) {
                    groups.remove();
                }
            }
        }
        reaped.forEach(c -> c.jvm.close(false));
    }

    /** Pids of the live children (for tests and status). */
    synchronized List<Long> pids() {
        return all.stream().map(c -> c.jvm.pid()).toList();
    }

    /** Kills every child; tasks running in them end as lost. */
    @Override
    public void close() {
        List<Child> killed;
        synchronized (this) {
            closed = true;
            killed = new ArrayList<>(all);
            all.clear();
            idle.clear();
        }
        killed.forEach(c -> c.jvm.close(true));
    }

    private static WorkerTaskResult failed(TaskAssign a, String workerId, String message) {
        return WorkerTaskResult.newBuilder().setTaskKey(a.getTaskKey()).setAttempt(a.getAttempt())
                .setStatus(TaskStatus.FAILED)
                .setError(TaskErrors.plain("java.io.IOException", message, workerId)).build();
    }
}
