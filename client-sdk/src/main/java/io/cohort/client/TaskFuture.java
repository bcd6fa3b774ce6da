package io.cohort.client;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The pending result of one task on the cluster, with Python's {@code Future} semantics on
 * top of {@link CompletableFuture}. Thread-safe.
 *
 * <p>{@link #cancel} follows Python's rule: a task that has not started is removed from the
 * cluster and never runs; a running one is interrupted only with
 * {@code mayInterruptIfRunning}. The start is known from the worker's notice, so a task that
 * starts while its cancel is on the way may still run, but its result is discarded.
 *
 * <p>Dependent stages ({@code thenApply}, {@link #addDoneCallback}) run on the executor's
 * callback executor when the task completes remotely, never on a transport thread: a stage
 * chained before the future is done is run asynchronously on that executor, one chained after
 * runs at once on the caller's thread. That is what lets the transport thread complete the
 * future itself when the result arrives: user code cannot end up on it.
 *
 * <p>Design note: a thread blocked in {@link #get} on a future with no dependent stages is
 * woken by the transport thread as soon as the result arrives and completes the future
 * itself, instead of waiting for the callback executor to do it: that saves a thread
 * hand-off (tens of microseconds here) on every round trip. The callback executor still
 * completes it when no getter did; dependents, if any, always wait for it.
 *
 * <p>Only the cluster completes a {@code TaskFuture}: {@link #complete}, {@link #completeExceptionally},
 * {@link #obtrudeValue}, {@link #obtrudeException}, {@link #completeAsync}, {@link #orTimeout} and
 * {@link #completeOnTimeout} throw {@link UnsupportedOperationException} (use {@link #cancel}, or
 * {@link #get(long, TimeUnit)} to wait a limited time). Dependent stages ({@code thenApply},
 * {@code copy()}, ...) are ordinary {@link CompletableFuture}s, which may be completed as usual.
 */
public class TaskFuture<T> extends CompletableFuture<T> {
    /** How a future reaches the cluster to cancel its task. */
    interface Canceller {
        /** Asks for an interrupt (or removal, if it has not started); does not wait. */
        void interruptRemote(TaskFuture<?> future);

        /** Removes the task if it has not started, and says whether it did; waits for the answer. */
        boolean removeIfNotStarted(TaskFuture<?> future);
    }

    private final long id;
    private final String name;
    private final Canceller canceller;
    private volatile boolean started;
    private volatile String workerId = "";
    /** The task as a Runnable, for shutdownNow(); dropped when done. */
    volatile Runnable original;
    /** The task is a chunk of a map: it completes with a ResultDecoder.ChunkOutcome. */
    boolean chunk;
    /** Its encoded bytes, as counted against the in-flight limit until it is answered. */
    long inFlightBytes;
    /** Set while a cancel waits to hear whether the task was removed before it started. */
    volatile CompletableFuture<Boolean> removal;
    /** The arrived result's completion, for a waiting getter to run; null before and after. */
    private volatile Runnable arrival;
    /** The one getter parked in {@link #awaitArrival}, if any. */
    private volatile Thread waiter;
    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<TaskFuture, Thread> WAITER =
            AtomicReferenceFieldUpdater.newUpdater(TaskFuture.class, Thread.class, "waiter");
    /** Dependents of a fresh future: the one below, which wakes a parked getter on any completion. */
    private static final int OWN_DEPENDENTS = 1;
    /** The SDK's own cheap hook run by that dependent, on the completing thread; null: none. */
    private volatile Runnable completionHook;

    /** Where stages chained before completion run; null: wherever the completing thread is (futures completed off transport threads). */
    private final Executor stages;

    TaskFuture(long id, String name, Canceller canceller) {
        this(id, name, canceller, null);
    }

    TaskFuture(long id, String name, Canceller canceller, Executor stages) {
        this.id = id;
        this.name = name;
        this.canceller = canceller;
        this.stages = stages;
        super.whenComplete((value, error) -> {
            wakeWaiter();
            Runnable hook = completionHook;
            if (hook != null) {
                hook.run();
            }
        });
    }

    /** Completes it with the cluster's value (the SDK's own completion); false if it was done. */
    boolean succeed(T value) {
        return super.complete(value);
    }

    /** Completes it with the cluster's failure (the SDK's own completion); false if it was done. */
    boolean fail(Throwable error) {
        return super.completeExceptionally(error);
    }

    /**
     * Runs {@code hook} on the completing thread once this future is done, or at once if it is:
     * adds no dependent, so a parked getter keeps its fast path. One hook per future, for the
     * SDK's own bookkeeping: it must be cheap, never block, never run user code, and tolerate
     * running twice (when it is set just as the future completes).
     */
    void onCompletion(Runnable hook) {
        completionHook = hook;
        if (isDone()) {
            hook.run();
        }
    }

    private UnsupportedOperationException clusterOnly(String method) {
        return new UnsupportedOperationException(method + " on task " + describe()
                + ": only the cluster completes a TaskFuture; use cancel(), or get(timeout) to wait a limited time"
                + " (a dependent stage such as copy() is an ordinary CompletableFuture)");
    }

    /** Always throws {@link UnsupportedOperationException}: only the cluster completes a task's future. */
    @Override
    public boolean complete(T value) {
        throw clusterOnly("complete");
    }

    /** Always throws {@link UnsupportedOperationException}: only the cluster completes a task's future. */
    @Override
    public boolean completeExceptionally(Throwable ex) {
        throw clusterOnly("completeExceptionally");
    }

    /** Always throws {@link UnsupportedOperationException}: only the cluster completes a task's future. */
    @Override
    public void obtrudeValue(T value) {
        throw clusterOnly("obtrudeValue");
    }

    /** Always throws {@link UnsupportedOperationException}: only the cluster completes a task's future. */
    @Override
    public void obtrudeException(Throwable ex) {
        throw clusterOnly("obtrudeException");
    }

    /** Always throws {@link UnsupportedOperationException}: only the cluster completes a task's future. */
    @Override
    public CompletableFuture<T> completeAsync(java.util.function.Supplier<? extends T> supplier, Executor executor) {
        throw clusterOnly("completeAsync");
    }

    /** Always throws {@link UnsupportedOperationException}: only the cluster completes a task's future. */
    @Override
    public CompletableFuture<T> completeAsync(java.util.function.Supplier<? extends T> supplier) {
        throw clusterOnly("completeAsync");
    }

    /**
     * Always throws {@link UnsupportedOperationException}: it would complete this future; use
     * {@code copy().orTimeout(...)}, {@link #get(long, TimeUnit)} or {@code TaskOptions.timeout}.
     */
    @Override
    public CompletableFuture<T> orTimeout(long timeout, TimeUnit unit) {
        throw clusterOnly("orTimeout");
    }

    /** Always throws {@link UnsupportedOperationException}: it would complete this future; use {@code copy().completeOnTimeout(...)}. */
    @Override
    public CompletableFuture<T> completeOnTimeout(T value, long timeout, TimeUnit unit) {
        throw clusterOnly("completeOnTimeout");
    }

    /** True when a stage chained now must not run on the completing thread. */
    private boolean deferStages() {
        return stages != null && !isDone();
    }

    @Override
    public <U> CompletableFuture<U> thenApply(Function<? super T, ? extends U> fn) {
        return deferStages() ? super.thenApplyAsync(fn, stages) : super.thenApply(fn);
    }

    @Override
    public CompletableFuture<Void> thenAccept(Consumer<? super T> action) {
        return deferStages() ? super.thenAcceptAsync(action, stages) : super.thenAccept(action);
    }

    @Override
    public CompletableFuture<Void> thenRun(Runnable action) {
        return deferStages() ? super.thenRunAsync(action, stages) : super.thenRun(action);
    }

    @Override
    public <U> CompletableFuture<U> thenCompose(Function<? super T, ? extends CompletionStage<U>> fn) {
        return deferStages() ? super.thenComposeAsync(fn, stages) : super.thenCompose(fn);
    }

    @Override
    public CompletableFuture<T> whenComplete(BiConsumer<? super T, ? super Throwable> action) {
        return deferStages() ? super.whenCompleteAsync(action, stages) : super.whenComplete(action);
    }

    @Override
    public <U> CompletableFuture<U> handle(BiFunction<? super T, Throwable, ? extends U> fn) {
        return deferStages() ? super.handleAsync(fn, stages) : super.handle(fn);
    }

    @Override
    public CompletableFuture<T> exceptionally(Function<Throwable, ? extends T> fn) {
        return deferStages() ? super.exceptionallyAsync(fn, stages) : super.exceptionally(fn);
    }

    @Override
    public CompletableFuture<T> exceptionallyCompose(Function<Throwable, ? extends CompletionStage<T>> fn) {
        return deferStages() ? super.exceptionallyComposeAsync(fn, stages) : super.exceptionallyCompose(fn);
    }

    // Stages on two futures run when the later one completes, on its thread: always on the executor.

    @Override
    public <U, V> CompletableFuture<V> thenCombine(CompletionStage<? extends U> other,
                                                   BiFunction<? super T, ? super U, ? extends V> fn) {
        return stages != null ? super.thenCombineAsync(other, fn, stages) : super.thenCombine(other, fn);
    }

    @Override
    public <U> CompletableFuture<Void> thenAcceptBoth(CompletionStage<? extends U> other,
                                                      BiConsumer<? super T, ? super U> action) {
        return stages != null ? super.thenAcceptBothAsync(other, action, stages) : super.thenAcceptBoth(other, action);
    }

    @Override
    public CompletableFuture<Void> runAfterBoth(CompletionStage<?> other, Runnable action) {
        return stages != null ? super.runAfterBothAsync(other, action, stages) : super.runAfterBoth(other, action);
    }

    @Override
    public <U> CompletableFuture<U> applyToEither(CompletionStage<? extends T> other, Function<? super T, U> fn) {
        return stages != null ? super.applyToEitherAsync(other, fn, stages) : super.applyToEither(other, fn);
    }

    @Override
    public CompletableFuture<Void> acceptEither(CompletionStage<? extends T> other, Consumer<? super T> action) {
        return stages != null ? super.acceptEitherAsync(other, action, stages) : super.acceptEither(other, action);
    }

    @Override
    public CompletableFuture<Void> runAfterEither(CompletionStage<?> other, Runnable action) {
        return stages != null ? super.runAfterEitherAsync(other, action, stages) : super.runAfterEither(other, action);
    }

    /**
     * The transport's result for this future has arrived; {@code completion} completes it
     * (idempotent, may run on any thread but a transport thread). Wakes a getter parked here.
     */
    void arrived(Runnable completion) {
        arrival = completion;
        wakeWaiter();
    }

    /** The arrival has been applied: forget it. */
    void arrivalDone() {
        arrival = null;
    }

    private void wakeWaiter() {
        Thread t = waiter;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /**
     * Parks until the future is done, the result has arrived (then completes it here if no
     * dependent stage waits on it) or {@code nanos} from {@code start} pass (only if {@code timed}).
     * Returns at once if another getter already waits here: that one falls back to the
     * ordinary wait.
     */
    private void awaitArrival(boolean timed, long start, long nanos) throws InterruptedException {
        Thread me = Thread.currentThread();
        if (!WAITER.compareAndSet(this, null, me)) {
            return;
        }
        try {
            while (!isDone()) {
                Runnable a = arrival;
                if (a != null) {
                    if (getNumberOfDependents() <= OWN_DEPENDENTS) {
                        try {
                            a.run();
                        } catch (RuntimeException e) {
                            // left to the callback executor, which completes it the same way
                        }
                    }
                    return;
                }
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (timed) {
                    long left = nanos - (System.nanoTime() - start);
                    if (left <= 0) {
                        return;
                    }
                    LockSupport.parkNanos(this, left);
                } else {
                    LockSupport.park(this);
                }
            }
        } finally {
            waiter = null;
        }
    }

    /** The task's id, unique within the executor's session. */
    public String taskId() {
        return Long.toString(id);
    }

    long id() {
        return id;
    }

    /** True once the task has started on a worker, until it is done. */
    public boolean isRunning() {
        return started && !isDone();
    }

    /** The worker the task ran (or runs) on; empty if it has not started. */
    public String workerId() {
        return workerId;
    }

    void markStarted(String worker) {
        workerId = worker;
        started = true;
        answerRemoval(false);
    }

    /** Sent again after a reconnect: it waits to start once more. */
    void requeued() {
        started = false;
    }

    boolean hasStarted() {
        return started;
    }

    void setWorkerId(String worker) {
        if (worker != null && !worker.isEmpty()) {
            workerId = worker;
        }
    }

    /**
     * Waits up to {@code timeout} (null: no limit) and returns the task's exception, or null
     * if it completed normally. Throws {@link CancellationException} if it was cancelled.
     */
    public Throwable exception(Duration timeout) throws InterruptedException, TimeoutException {
        try {
            if (timeout == null) {
                super.get();
            } else {
                super.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            }
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    /** Runs {@code action} once this future is done, however it ends (for the SDK's own clean-up). */
    void whenDone(Runnable action) {
        whenComplete((value, error) -> action.run());
    }

    /**
     * Calls {@code callback} with this future when it is done; at once, on this thread, if it
     * is done already. An exception thrown by the callback is logged and ignored.
     */
    public void addDoneCallback(Consumer<? super TaskFuture<T>> callback) {
        whenComplete((value, error) -> {
            try {
                callback.accept(this);
            } catch (RuntimeException | Error e) {
                System.getLogger(TaskFuture.class.getName()).log(System.Logger.Level.WARNING,
                        "done callback of task " + describe() + " threw", e);
            }
        });
    }

    /**
     * Cancels the task if it has not started; a running task only with
     * {@code mayInterruptIfRunning}, by interrupting it on its worker. Returns true if the
     * future is now cancelled (also when it already was), false if it completed otherwise or
     * runs and may not be interrupted.
     *
     * <p>Without interrupt, the cluster is asked and its answer awaited (one round trip), so
     * that true means the task never runs: it may have started since the last notice.
     */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        if (isDone()) {
            return isCancelled();
        }
        if (mayInterruptIfRunning) {
            if (super.cancel(true)) {
                canceller.interruptRemote(this);
            }
            return isCancelled();
        }
        if (started) {
            return false;
        }
        if (canceller.removeIfNotStarted(this)) {
            super.cancel(false);
        }
        return isCancelled();
    }

    /** Completes a cancel that waits on the cluster's answer; called when the answer arrives. */
    void answerRemoval(boolean removed) {
        CompletableFuture<Boolean> waiting = removal;
        if (waiting != null) {
            waiting.complete(removed);
        }
    }

    /** Cancels here without asking the cluster: it has already removed the task. */
    void cancelledRemotely() {
        super.cancel(false);
    }

    /** Like {@link CompletableFuture#get()}; the exception's message names the task and worker. */
    @Override
    public T get() throws InterruptedException, ExecutionException {
        if (!isDone()) {
            awaitArrival(false, 0, 0);
        }
        try {
            return super.get();
        } catch (ExecutionException e) {
            throw explain(e);
        }
    }

    @Override
    public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        if (!isDone()) {
            long start = System.nanoTime();
            long nanos = unit.toNanos(timeout);
            awaitArrival(true, start, nanos);
            timeout = Math.max(0, nanos - (System.nanoTime() - start));
            unit = TimeUnit.NANOSECONDS;
        }
        try {
            return super.get(timeout, unit);
        } catch (ExecutionException e) {
            throw explain(e);
        }
    }

    private ExecutionException explain(ExecutionException e) {
        Throwable cause = e.getCause();
        String where = workerId.isEmpty() ? "" : " on worker " + workerId;
        return new ExecutionException("task " + describe() + " failed" + where + ": " + cause, cause);
    }

    String describe() {
        return name == null || name.isEmpty() ? taskId() : taskId() + " (" + name + ")";
    }

    @Override
    public String toString() {
        String state = isCancelled() ? "cancelled" : isCompletedExceptionally() ? "failed"
                : isDone() ? "done" : started ? "running" : "pending";
        return "TaskFuture[" + describe() + ", " + state + "]";
    }
}
