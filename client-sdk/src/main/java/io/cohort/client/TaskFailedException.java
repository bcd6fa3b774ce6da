package io.cohort.client;

/**
 * A {@code map} element (or a pool call) whose task failed, thrown when iteration reaches it.
 * Its cause is the task's own exception (or a {@link RemoteTaskException} when that class cannot
 * be loaded on the client).
 */
public class TaskFailedException extends CohortException {
    private static final long serialVersionUID = 1L;

    public TaskFailedException(String message) {
        super(message);
    }

    public TaskFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
