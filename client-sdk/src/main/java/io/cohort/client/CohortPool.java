package io.cohort.client;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Python's {@code multiprocessing.Pool} over a Cohort cluster; made by
 * {@link CohortExecutor#pool(PoolOptions)}. Thread-safe.
 *
 * <p>At most {@code processes} of the pool's tasks run at once; the rest wait, in order, at
 * the client. Submitting after {@link #shutdown()} or {@link #terminate()} throws
 * {@link IllegalStateException}.
 */
public interface CohortPool extends AutoCloseable {
    /** Runs {@code fn(input)} and waits for it; a task error is thrown as {@link TaskFailedException}. */
    <A, R> R apply(RemoteFunction<A, R> fn, A input);

    <A, R> TaskFuture<R> applyAsync(RemoteFunction<A, R> fn, A input);

    /**
     * As {@link #applyAsync(RemoteFunction, Object)}; on success {@code callback} gets the result,
     * on failure {@code errorCallback} gets the task's exception, on the callback executor.
     */
    <A, R> TaskFuture<R> applyAsync(RemoteFunction<A, R> fn, A input,
                                    Consumer<? super R> callback, Consumer<? super Throwable> errorCallback);

    /** Results in input order; the first failed element is thrown as {@link TaskFailedException}. */
    <A, R> List<R> map(RemoteFunction<A, R> fn, Iterable<? extends A> inputs);

    <A, R> List<R> map(RemoteFunction<A, R> fn, Iterable<? extends A> inputs, int chunkSize);

    /** {@link #map} without waiting: the future holds the whole list, or the first element's error. */
    <A, R> TaskFuture<List<R>> mapAsync(RemoteFunction<A, R> fn, Iterable<? extends A> inputs);

    /** Lazily, in input order; a failed element throws where it sits and iteration can go on. */
    <A, R> MapResult<R> imap(RemoteFunction<A, R> fn, Iterable<? extends A> inputs);

    /** Lazily, in completion order. */
    <A, R> MapResult<R> imapUnordered(RemoteFunction<A, R> fn, Iterable<? extends A> inputs);

    /** {@code fn(a, b)} for each pair, results in input order. */
    <A, B, R> List<R> starmap(RemoteBiFunction<A, B, R> fn, Iterable<? extends Map.Entry<A, B>> inputs);

    /** Python's {@code close()}: no new work; work already submitted still runs. */
    void shutdown();

    /** Stops now: queued work is cancelled, running work interrupted. */
    void terminate();

    /**
     * Waits until every task of the pool has ended. Only after {@link #shutdown()} or
     * {@link #terminate()}; before them throws {@link IllegalStateException} (Python's ValueError).
     */
    void join() throws InterruptedException;

    /** {@link #shutdown()} then {@link #join()}: try-with-resources waits for the work. */
    @Override
    void close();
}
