package io.cohort.client;

/**
 * A task's worker was lost while running it more times than {@link TaskOptions#maxRetries()}
 * allows. Not the task's fault: it reaches the caller as the cause of the
 * {@code ExecutionException} from {@code get()}.
 */
public class WorkerLostException extends CohortException {
    private static final long serialVersionUID = 1L;

    public WorkerLostException(String message) {
        super(message);
    }

    public WorkerLostException(String message, Throwable cause) {
        super(message, cause);
    }
}
