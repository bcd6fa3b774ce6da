package io.cohort.client;

/** When {@link Futures#wait(java.util.Collection, java.time.Duration, ReturnWhen)} returns. */
public enum ReturnWhen {
    /** As soon as any future is done (normally, exceptionally or cancelled). */
    FIRST_COMPLETED,
    /**
     * As soon as any future completes exceptionally, or when all are done. As in Python, a
     * cancelled future does not count as an exception here.
     */
    FIRST_EXCEPTION,
    /** When every future is done. */
    ALL_COMPLETED
}
