package io.cohort.common;

import java.io.Serializable;

/**
 * What a worker runs: the client wraps the user's callable, runnable or function in one of
 * these, so the worker needs no compile-time knowledge of the client's task types.
 */
@FunctionalInterface
public interface TaskBody extends Serializable {
    /** Runs the task on one input (null for tasks that take none) and returns its result. */
    Object call(Object input) throws Exception;
}
