package io.cohort.client;

import java.util.concurrent.ExecutorService;

/**
 * Runs tasks on a Cohort cluster and hands back futures, with the semantics of Python's
 * {@code concurrent.futures.Executor}; the inherited {@link ExecutorService} methods keep
 * Java's contract. Thread-safe: share one executor across an application.
 *
 * <p>Tasks must be {@link java.io.Serializable}: a task that is not is refused at submit with
 * {@link IllegalArgumentException} naming the class, and nothing is sent. Submitting after
 * shutdown throws {@link java.util.concurrent.RejectedExecutionException}.
 */
public interface CohortExecutor extends ExecutorService, AutoCloseable {
    <T> TaskFuture<T> submit(RemoteCallable<T> task);

    <T> TaskFuture<T> submit(RemoteCallable<T> task, TaskOptions options);

    TaskFuture<Void> submit(RemoteRunnable task);

    /** Runs {@code fn(input)} on a worker: Python's {@code submit(fn, *args)}. */
    <A, R> TaskFuture<R> submit(RemoteFunction<A, R> fn, A input);

    /** {@code submit(fn, input)} with options. */
    <A, R> TaskFuture<R> submit(RemoteFunction<A, R> fn, A input, TaskOptions options);

    /** Results in input order, lazily; see {@link MapResult}. */
    <A, R> MapResult<R> map(RemoteFunction<A, R> fn, Iterable<? extends A> inputs);

    <A, R> MapResult<R> map(RemoteFunction<A, R> fn, Iterable<? extends A> inputs, MapOptions options);

    /**
     * Python's {@code shutdown(wait, cancel_futures)}: no new tasks are accepted; with
     * {@code cancelFutures} every task that has not started is cancelled; with {@code wait}
     * this returns once every submitted task has ended. {@code shutdown()} is
     * {@code shutdown(false, false)}.
     */
    void shutdown(boolean wait, boolean cancelFutures);

    /** {@code shutdown(true, false)}, then ends the session; a {@code Cohort.local} executor also stops its cluster. */
    @Override
    void close();

    /** A snapshot of the cluster as the coordinator sees it. */
    ClusterInfo clusterInfo();

    // ---- multiprocessing ----

    /** Python's {@code multiprocessing.Pool} on this executor's session and cluster. */
    CohortPool pool(PoolOptions options);

    /** Python's {@code multiprocessing.Process(target=...)}, not yet started; see {@link CohortProcess}. */
    CohortProcess process(RemoteRunnable target);

    CohortProcess process(RemoteRunnable target, ProcessOptions options);

    // ---- shared objects ----
    // Homed at the coordinator in this executor's session and deleted when it ends. The same
    // name and type gives the existing object unchanged; the same name with another type throws
    // IllegalStateException. Handles are serializable: capture one in a task to share it.

    /** Python's {@code Value('q', initial)}. */
    SharedLong sharedLong(String name, long initial);

    /** Python's {@code Value('d', initial)}. */
    SharedDouble sharedDouble(String name, double initial);

    /** Python's {@code Array('q', length)}, zeroed. */
    SharedLongArray sharedLongArray(String name, int length);

    /** Python's {@code Array('d', length)}, zeroed. */
    SharedDoubleArray sharedDoubleArray(String name, int length);

    /** Python's {@code Manager().dict()}. */
    <K, V> SharedMap<K, V> sharedMap(String name);

    /** Python's {@code Manager().list()}. */
    <T> SharedList<T> sharedList(String name);

    /** Python's {@code Manager().Queue(capacity)}; capacity at least 1. */
    <T> SharedQueue<T> sharedQueue(String name, int capacity);

    /** Python's {@code Manager().Lock()}. */
    SharedLock sharedLock(String name);

    /** Python's {@code Manager().Event()}. */
    SharedEvent sharedEvent(String name);

    /** Python's {@code Manager().Barrier(parties)}; parties at least 1. */
    SharedBarrier sharedBarrier(String name, int parties);
}
