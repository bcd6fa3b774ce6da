package io.cohort.coordinator.internal;

import com.google.protobuf.ByteString;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How long each function's tasks run, as workers report it: the estimate behind adaptive
 * prefetch. Cautious by design: one slow run raises the estimate at once, fast runs lower it
 * slowly, so a function that sometimes runs long soon stops being queued deeply on a worker.
 * Bounded: the least recently used functions are forgotten.
 */
final class RunTimes {
    static final int MAX_FUNCTIONS = 4096;
    /** A fast run moves the estimate down by 1/DECAY of the difference. */
    private static final int DECAY = 8;

    private final Map<ByteString, long[]> estimates = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<ByteString, long[]> eldest) {
            return size() > MAX_FUNCTIONS;
        }
    };

    /** Records one run of {@code digest}'s function; ignored without a digest or a positive time. */
    void observe(ByteString digest, long runNanos) {
        if (digest.isEmpty() || runNanos <= 0) {
            return;
        }
        long[] e = estimates.get(digest);
        if (e == null) {
            estimates.put(digest, new long[] {runNanos});
        } else if (runNanos >= e[0]) {
            e[0] = runNanos;
        } else {
            e[0] -= (e[0] - runNanos) / DECAY;
        }
    }

    /** The estimated run time of the function's tasks in nanoseconds; 0 when it has none yet. */
    long estimate(ByteString digest) {
        if (digest.isEmpty()) {
            return 0;
        }
        long[] e = estimates.get(digest);
        return e == null ? 0 : e[0];
    }

    int size() {
        return estimates.size();
    }
}
