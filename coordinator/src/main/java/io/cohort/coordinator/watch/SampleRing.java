package io.cohort.coordinator.watch;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.LongConsumer;

/**
 * The last {@code capacity} measurements (nanoseconds), written by one thread without a lock
 * or an allocation and read by one other; overwritten ones are lost and counted. Each slot
 * holds its entry's number beside its value, written after it, so a reader sees either the
 * whole entry or that it was overwritten (see {@link TransitionRing}).
 */
final class SampleRing {
    private static final VarHandle SEQ = MethodHandles.arrayElementVarHandle(long[].class);

    private final int mask;
    private final long[] seq;
    private final long[] values;
    private long next;
    private long read;

    SampleRing(int capacity) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two, not " + capacity);
        }
        mask = capacity - 1;
        seq = new long[capacity];
        java.util.Arrays.fill(seq, -1L);
        values = new long[capacity];
    }

    /** Writer. */
    void put(long value) {
        long n = next++;
        int i = (int) (n & mask);
        SEQ.setOpaque(seq, i, -1L);
        VarHandle.storeStoreFence();
        values[i] = value;
        SEQ.setRelease(seq, i, n);
    }

    /** Reader: hands over the values written since the last call; returns how many were lost. */
    long drain(LongConsumer sink) {
        long lost = 0;
        for (;;) {
            int i = (int) (read & mask);
            long before = (long) SEQ.getAcquire(seq, i);
            if (before < read) {
                return lost;
            }
            if (before > read) {
                long oldest = before - mask;
                lost += oldest - read;
                read = oldest;
                continue;
            }
            long value = values[i];
            VarHandle.loadLoadFence();
            if ((long) SEQ.getOpaque(seq, i) != read) {
                continue;
            }
            read++;
            sink.accept(value);
        }
    }
}
