package io.cohort.client;

import java.io.Serializable;

/**
 * A one-argument function that can be shipped to a worker, as used by {@code submit(fn, input)}
 * and {@code map}. It may throw any exception; the exception is reported through the task's
 * future. Everything it captures must be serializable.
 *
 * @param <A> the input type
 * @param <R> the result type
 */
@FunctionalInterface
public interface RemoteFunction<A, R> extends Serializable {
    R apply(A input) throws Exception;
}
