package io.cohort.client;

import java.io.Serializable;

/**
 * A two-argument function that can be shipped to a worker, as used by {@code starmap}. It may
 * throw any exception; the exception is reported through the task's future. Everything it
 * captures must be serializable.
 *
 * @param <A> the first input type
 * @param <B> the second input type
 * @param <R> the result type
 */
@FunctionalInterface
public interface RemoteBiFunction<A, B, R> extends Serializable {
    R apply(A a, B b) throws Exception;
}
