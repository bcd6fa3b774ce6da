package io.cohort.client;

/**
 * A wait ran out of time: {@link Futures#asCompleted(java.util.Collection, java.time.Duration)},
 * {@code map} with {@link MapOptions#timeout()}, or a shared barrier.
 */
public class CohortTimeoutException extends CohortException {
    private static final long serialVersionUID = 1L;

    public CohortTimeoutException(String message) {
        super(message);
    }

    public CohortTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }
}
