package io.cohort.client;

/** An {@link Outcome}: a value, or the failure in its place (then {@code failure} is not null). */
record ElementOutcome<R>(long index, R result, Throwable error) implements Outcome<R> {
    static <R> ElementOutcome<R> of(long index, R value) {
        return new ElementOutcome<>(index, value, null);
    }

    static <R> ElementOutcome<R> failed(long index, Throwable failure) {
        return new ElementOutcome<>(index, null, failure);
    }

    @Override
    public boolean succeeded() {
        return error == null;
    }

    @Override
    public R value() {
        if (error != null) {
            throw new IllegalStateException("map element " + index + " failed: " + error, error);
        }
        return result;
    }

    @Override
    public Throwable failure() {
        if (error == null) {
            throw new IllegalStateException("map element " + index + " succeeded: it has no failure");
        }
        return error;
    }

    @Override
    public String toString() {
        return "Outcome[" + index + ": " + (error == null ? "value " + result : "failed: " + error) + "]";
    }
}
