package io.cohort.client;

/**
 * One element's outcome in {@link MapResult#outcomes()}: its value, or the exception its task
 * threw. Immutable.
 */
public interface Outcome<R> {
    /** The element's position among the map's inputs, from 0. */
    long index();

    /** True if the element produced a value. */
    boolean succeeded();

    /**
     * The element's value (may be null).
     *
     * @throws IllegalStateException if it failed; the cause is its failure
     */
    R value();

    /**
     * What the element's task threw (a {@code CancellationException} if it was cancelled, a
     * {@code WorkerLostException} when its retries ran out, ...).
     *
     * @throws IllegalStateException if it succeeded
     */
    Throwable failure();
}
