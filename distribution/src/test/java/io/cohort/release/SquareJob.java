package io.cohort.release;

import io.cohort.client.RemoteFunction;

/** The application's code in ReleaseIT: reaches the workers through {@code worker --classpath}. */
final class SquareJob {
    private SquareJob() {}

    static RemoteFunction<Integer, Integer> square() {
        return x -> x * x;
    }
}
