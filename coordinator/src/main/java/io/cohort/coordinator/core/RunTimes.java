package io.cohort.coordinator.core;

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

    /** One function's estimate, shared by its tasks: each looks it up once instead of at every placement. */
    static final class Estimate {
        private long nanos;

        /** The estimated run time in nanoseconds; 0 when none is known yet. */
        long nanos() {
            return nanos;
        }
    }

    /** For tasks without a function digest: never estimated. */
    private static final Estimate NONE = new Estimate();

    private final Map<ByteString, Estimate> estimates = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<ByteString, Estimate> eldest) {
            return size() > MAX_FUNCTIONS;
        }
    };

    /**
     * The estimate of {@code digest}'s function. One forgotten (least recently used) while its
     * tasks still hold it only stops being shared: later tasks start a new one.
     */
    Estimate of(ByteString digest) {
        return digest.isEmpty() ? NONE : estimates.computeIfAbsent(digest, d -> new Estimate());
    }

    /** Records one run; ignored without a digest or a positive time. */
    void observe(Estimate e, long runNanos) {
        if (e == NONE || runNanos <= 0) {
            return;
        }
        if (runNanos >= e.nanos) {
            e.nanos = runNanos;
        } else {
            e.nanos -= (e.nanos - runNanos) / DECAY;
        }
    }

    int size() {
        return estimates.size();
    }
}
