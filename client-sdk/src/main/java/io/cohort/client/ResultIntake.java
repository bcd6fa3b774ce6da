package io.cohort.client;

import io.cohort.proto.v1.ProcessOutput;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.TaskProcessOutput;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskStarted;
import io.cohort.proto.v1.TaskStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * What the coordinator sends a session, taken in on the transport thread: started notices and
 * process output to their tasks, and results claimed from the pending table in arrival order
 * and decoded into their futures. Thread-safe.
 */
final class ResultIntake {
    /** The session's side of what a result settles. */
    interface Owner {
        /** Room under the in-flight limit for tasks just claimed, before their futures complete. */
        void claimed(int count, long bytes);

        /** The coordinator lacked the task's function: define it and send the task again; false when it cannot. */
        boolean redefine(TaskResult rejected);
    }

    private final PendingTasks pending;
    private final ResultDecoder decoder;
    private final Executor callbacks;
    private final Owner owner;

    ResultIntake(PendingTasks pending, ResultDecoder decoder, Executor callbacks, Owner owner) {
        this.pending = pending;
        this.decoder = decoder;
        this.callbacks = callbacks;
        this.owner = owner;
    }

    void received(SessionResponse response, SessionStream.Call from) {
        for (TaskStarted s : response.getStartedList()) {
            PendingTasks.Pending p = pending.get(s.getTaskId());
            if (p != null) {
                p.future().markStarted(s.getWorkerId());
            }
        }
        for (TaskProcessOutput o : response.getProcessOutputList()) {
            Consumer<ProcessOutput> sink = pending.outputOf(o.getTaskId());
            if (sink != null) {
                sink.accept(o.getOutput());
            }
        }
        List<TaskResult> arrived;
        try {
            arrived = io.cohort.common.ColumnBatches.results(response);
        } catch (IllegalArgumentException e) {
            from.cancel(e.getMessage(), e);   // ends the stream: onError follows
            return;
        }
        if (!arrived.isEmpty()) {
            complete(arrived);
        }
    }

    private void complete(List<TaskResult> arrived) {
        // Claimed here, in arrival order, so a later end of the stream cannot fail them.
        List<TaskFuture<?>> futures = new ArrayList<>(arrived.size());
        List<TaskResult> results = new ArrayList<>(arrived.size());
        long bytes = 0;
        for (TaskResult r : arrived) {
            if (r.getStatus() == TaskStatus.REJECTED && !r.getUndefinedFunction().isEmpty() && owner.redefine(r)) {
                continue;   // sent again with its function: its answer is still to come
            }
            PendingTasks.Pending p = pending.claim(r.getTaskId());
            if (p != null) {
                TaskFuture<?> f = p.future();
                f.answerRemoval(r.getStatus() == TaskStatus.CANCELLED);
                futures.add(f);
                results.add(r);
                bytes += f.inFlightBytes;
            }
        }
        owner.claimed(futures.size(), bytes);
        // Completed here, on the transport thread: a stage chained on a TaskFuture never
        // runs on the completing thread (see TaskFuture), so no user code runs here, and
        // a parked getter is woken without a hand-off to the callback executor. A value
        // that travels in chunks is fetched there instead: that blocks.
        List<TaskFuture<?>> fetched = null;
        List<TaskResult> fetchedResults = null;
        int completedHere = 0;
        for (int i = 0; i < futures.size(); i++) {
            TaskFuture<?> f = futures.get(i);
            TaskResult r = results.get(i);
            if (!r.hasValuePayload()) {
                completeOnce(f, r);
                completedHere++;
                continue;
            }
            if (fetched == null) {
                fetched = new ArrayList<>();
                fetchedResults = new ArrayList<>();
            }
            fetched.add(f);
            fetchedResults.add(r);
            f.arrived(() -> completeOnce(f, r));   // a getter parked on it may fetch it now
        }
        pending.answered(completedHere);
        if (fetched != null) {
            List<TaskFuture<?>> toFetch = fetched;
            List<TaskResult> toFetchResults = fetchedResults;
            Session.runOn(callbacks, () -> {
                for (int i = 0; i < toFetch.size(); i++) {
                    completeOnce(toFetch.get(i), toFetchResults.get(i));
                }
                pending.answered(toFetch.size());
            });
        }
    }

    /**
     * Completes a future from its result, unless a getter or this executor already did. On the
     * transport thread unless the value must be fetched; whatever goes wrong fails that future only.
     */
    private void completeOnce(TaskFuture<?> future, TaskResult r) {
        try {
            if (r.hasValuePayload()) {
                synchronized (r) {   // a getter and the callback executor may both get here: fetch once
                    if (!future.isDone()) {
                        decoder.complete(future, r);
                    }
                }
            } else if (!future.isDone()) {
                decoder.complete(future, r);
            }
        } catch (RuntimeException | LinkageError e) {
            future.fail(new CohortException("cannot complete task " + future.describe() + ": " + e, e));
        }
        future.arrivalDone();
    }
}
