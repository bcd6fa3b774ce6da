package io.cohort.client;

import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.ProcessOutput;
import io.cohort.proto.v1.TaskSubmit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The session's unanswered tasks: each one's future and submit (to send again after a
 * reconnect), where a process task's output goes, and how many submitted tasks still wait
 * for their futures to complete. Thread-safe.
 */
final class PendingTasks {
    /**
     * {@code function}: the definition the task uses (null for a task with a body), kept so that
     * it can be defined again; {@code redefined}: how often that was done for it on refusal.
     */
    record Pending(TaskFuture<?> future, TaskSubmit submit, FunctionDef function, AtomicInteger redefined) {}

    private final Map<Long, Pending> byId = new ConcurrentHashMap<>();
    /** Where the pid and output lines of process tasks go, by task id, until their results arrive. */
    private final Map<Long, Consumer<ProcessOutput>> processOutput = new ConcurrentHashMap<>();
    /** Submitted tasks whose futures are not completed yet (pending ones, and answers in hand-off). */
    private final AtomicInteger unanswered = new AtomicInteger();
    private final Object idle = new Object();

    /** A task is about to be submitted: it counts as unanswered from now on. */
    void expect() {
        unanswered.incrementAndGet();
    }

    void add(TaskFuture<?> future, TaskSubmit submit, FunctionDef function, Consumer<ProcessOutput> output) {
        byId.put(submit.getTaskId(), new Pending(future, submit, function, function == null ? null : new AtomicInteger()));
        if (output != null) {
            processOutput.put(submit.getTaskId(), output);
        }
    }

    Pending get(long id) {
        return byId.get(id);
    }

    boolean contains(long id) {
        return byId.containsKey(id);
    }

    /** Takes the task out (its answer arrived, or it will never come); null if it was not pending. */
    Pending claim(long id) {
        Pending p = byId.remove(id);
        if (!processOutput.isEmpty()) {
            processOutput.remove(id);
        }
        return p;
    }

    /** The pending task ids, lowest (first submitted) first. */
    List<Long> ids() {
        List<Long> ids = new ArrayList<>(byId.keySet());
        ids.sort(null);
        return ids;
    }

    Collection<TaskFuture<?>> futures() {
        return byId.values().stream().<TaskFuture<?>>map(Pending::future).toList();
    }

    Consumer<ProcessOutput> outputOf(long id) {
        return processOutput.get(id);
    }

    /** {@code count} claimed tasks' futures are complete. */
    void answered(int count) {
        if (unanswered.addAndGet(-count) == 0) {
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    /** True when every submitted task's future is complete. */
    boolean isIdle() {
        return unanswered.get() == 0;
    }

    /** Waits until every submitted task has been answered, at most until {@code deadlineNanos}. */
    boolean awaitIdle(long deadlineNanos) throws InterruptedException {
        synchronized (idle) {
            while (unanswered.get() > 0) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(idle, left);
            }
            return true;
        }
    }
}
