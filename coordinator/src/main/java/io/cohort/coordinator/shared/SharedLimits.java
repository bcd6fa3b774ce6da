package io.cohort.coordinator.shared;

/**
 * What shared objects may hold, so that no session can fill the coordinator's heap with them.
 * Sizes are estimates of the heap an object takes: 8 bytes an array element, a map entry's or
 * list element's bytes plus {@link #ENTRY_OVERHEAD}. Each limit names the coordinator flag
 * that sets it, for the refusals.
 *
 * @param maxObjectBytes   one object ({@code --shared-max-object-bytes})
 * @param maxSessionBytes  all objects of one session ({@code --shared-max-session-bytes})
 * @param maxSessionObjects objects one session may have at a time ({@code --shared-max-session-objects})
 * @param maxTotalBytes    all objects of all sessions ({@code --shared-max-total-bytes})
 */
public record SharedLimits(long maxObjectBytes, long maxSessionBytes, int maxSessionObjects, long maxTotalBytes,
                           int maxWaiters) {
    /** Calls parked at once on shared objects (a take on an empty queue, a lock wait...), by default. */
    public static final int DEFAULT_MAX_WAITERS = 10_000;

    /** What an object, a map entry or a list element costs beyond its bytes (headers, references). */
    public static final long ENTRY_OVERHEAD = 64;

    public SharedLimits {
        if (maxObjectBytes < 1 || maxSessionBytes < 1 || maxSessionObjects < 1 || maxTotalBytes < 1 || maxWaiters < 1) {
            throw new IllegalArgumentException("shared-object limits must be at least 1: --shared-max-object-bytes "
                    + maxObjectBytes + ", --shared-max-session-bytes " + maxSessionBytes
                    + ", --shared-max-session-objects " + maxSessionObjects + ", --shared-max-total-bytes " + maxTotalBytes
                    + ", --shared-max-waiters " + maxWaiters);
        }
    }

    /** With the default cap of parked calls. */
    public SharedLimits(long maxObjectBytes, long maxSessionBytes, int maxSessionObjects, long maxTotalBytes) {
        this(maxObjectBytes, maxSessionBytes, maxSessionObjects, maxTotalBytes, DEFAULT_MAX_WAITERS);
    }

    /**
     * Derived from a max heap: one object at most a sixteenth of it (and 64 MiB), one session
     * an eighth, all sessions a quarter; 10,000 objects a session.
     */
    public static SharedLimits forHeap(long maxHeapBytes) {
        return new SharedLimits(Math.max(1 << 20, Math.min(64L << 20, maxHeapBytes / 16)),
                Math.max(1 << 20, maxHeapBytes / 8), 10_000, Math.max(1 << 20, maxHeapBytes / 4));
    }
}
