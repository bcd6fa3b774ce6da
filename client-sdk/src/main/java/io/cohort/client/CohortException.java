package io.cohort.client;

/** The base of Cohort's own errors. Unchecked. */
public class CohortException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CohortException(String message) {
        super(message);
    }

    public CohortException(String message, Throwable cause) {
        super(message, cause);
    }
}
