package io.cohort.client;

/**
 * A task ran longer than {@link TaskOptions#timeout()}; it was interrupted on its worker. It
 * reaches the caller as the cause of the {@code ExecutionException} from {@code get()}.
 */
public class TaskTimeoutException extends CohortException {
    private static final long serialVersionUID = 1L;

    public TaskTimeoutException(String message) {
        super(message);
    }

    public TaskTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }
}
