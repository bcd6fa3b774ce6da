package io.cohort.client;

import java.io.Serializable;
import java.util.concurrent.Callable;

/**
 * A {@link Callable} that can be shipped to a worker: lambdas and method references typed as
 * this interface are serializable. Everything it captures must be serializable too.
 *
 * @param <T> the result type
 */
@FunctionalInterface
public interface RemoteCallable<T> extends Callable<T>, Serializable {}
