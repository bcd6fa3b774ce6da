package io.cohort.client;

/**
 * Chooses how many inputs each unit of a {@code map} carries when the user gave no chunk size.
 *
 * <p>Design notes. A unit costs a fixed overhead (encoding, a round trip through the coordinator:
 * ~0.3 ms on a quiet machine, a few ms on a busy one) plus its elements' work. Big units
 * amortize the overhead; small ones keep every slot busy to the end and return first results
 * early. So the first units follow Python's rule for a known length (a quarter of the inputs per
 * slot, at most {@link #MAX}) and are of one input for an unknown length; then each completed
 * unit's latency (sent to completed, queueing included) steers the size: it doubles while units
 * come back within {@link #GROW_BELOW_NANOS} and shrinks in proportion past
 * {@link #SHRINK_ABOVE_NANOS}. Caps: {@link #MAX} inputs, about {@link #MAX_BYTES} encoded, half the
 * read-ahead buffer per slot, and with a known length an even share of what remains per slot
 * (the last units get smaller, so the slots finish together, but not below a sixteenth of the
 * steered size: each unit costs its overhead).
 *
 * <p>Not thread-safe: only the map's consuming thread uses it. Times are given by the caller.
 */
final class ChunkSizer {
    /** Inputs per unit at most: 512 KB of longs, and the read-ahead it implies stays a few MB. */
    static final int MAX = 65_536;
    /** Units in flight per slot, so a slot never waits for the client between units (Python's 4). */
    static final int UNITS_PER_SLOT = 4;
    /** Latency (queueing behind the other units in flight included) under which units double. */
    static final long GROW_BELOW_NANOS = 50_000_000L;
    /** Latency over which units shrink, in proportion, to between the two bounds. */
    static final long SHRINK_ABOVE_NANOS = 200_000_000L;
    static final long MAX_BYTES = 4L << 20;

    private final int slots;
    private final int bufferSize;
    private long remaining;     // inputs not yet sent; -1 when the length is unknown
    private int size;           // the steered size, before the caps that depend on what remains
    private int byBytes = MAX;  // the cap from the encoded sizes seen

    /** {@code length}: the number of inputs, or -1 when unknown. */
    ChunkSizer(int slots, long length, int bufferSize) {
        this.slots = Math.max(1, slots);
        this.bufferSize = bufferSize;
        this.remaining = length;
        this.size = length < 0 ? 1 : (int) Math.max(1, Math.min(MAX, length / ((long) this.slots * UNITS_PER_SLOT)));
    }

    /** The default read-ahead for automatic chunks: room for every slot's units at the largest size. */
    static int defaultBuffer(int slots) {
        return (int) Math.min(Integer.MAX_VALUE, (long) Math.max(1, slots) * UNITS_PER_SLOT * MAX);
    }

    /** How many inputs the next unit should carry, at least 1. */
    int next() {
        long n = Math.min(size, byBytes);
        n = Math.min(n, Math.max(1, bufferSize / (2L * slots)));
        if (remaining >= 0) {
            n = Math.min(n, Math.max((remaining + slots - 1) / slots, size / 16));
        }
        return (int) Math.max(1, n);
    }

    /** A unit of {@code inputs} was sent, {@code bytes} long once encoded. */
    void sent(int inputs, long bytes) {
        if (remaining >= 0) {
            remaining = Math.max(0, remaining - inputs);
        }
        if (bytes > 0) {
            byBytes = (int) Math.max(1, Math.min(MAX, inputs * MAX_BYTES / bytes));
        }
    }

    /** A unit of {@code inputs} came back {@code latencyNanos} after it was sent. */
    void completed(int inputs, long latencyNanos) {
        if (latencyNanos < GROW_BELOW_NANOS) {
            if (inputs * 2L >= size) {   // a small tail unit says little about big ones
                size = (int) Math.min(MAX, size * 2L);
            }
        } else if (latencyNanos > SHRINK_ABOVE_NANOS) {
            long target = (SHRINK_ABOVE_NANOS + GROW_BELOW_NANOS) / 2;
            size = (int) Math.max(1, Math.min(size, inputs * target / latencyNanos));
        }
    }

    /** The steered size (for tests). */
    int size() {
        return size;
    }
}
