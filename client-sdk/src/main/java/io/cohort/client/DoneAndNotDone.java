package io.cohort.client;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * What {@link Futures#wait} returns, like Python's {@code DoneAndNotDoneFutures}: the futures
 * that were done and those that were not. Both sets are unmodifiable copies that keep the order
 * in which the futures were given.
 *
 * @param <F> the future type
 */
public record DoneAndNotDone<F>(Set<F> done, Set<F> notDone) {
    public DoneAndNotDone {
        done = copy(Objects.requireNonNull(done, "done"));
        notDone = copy(Objects.requireNonNull(notDone, "notDone"));
    }

    private static <F> Set<F> copy(Set<F> set) {
        return Collections.unmodifiableSet(new LinkedHashSet<>(set));
    }
}
