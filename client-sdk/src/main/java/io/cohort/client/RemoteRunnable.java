package io.cohort.client;

import java.io.Serializable;

/**
 * A {@link Runnable} that can be shipped to a worker: lambdas and method references typed as
 * this interface are serializable. Everything it captures must be serializable too.
 */
@FunctionalInterface
public interface RemoteRunnable extends Runnable, Serializable {}
