package io.cohort.coordinator.watch;

import io.cohort.coordinator.core.TaskState;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The task transitions of the last {@code capacity}, written by the scheduler's thread without
 * a lock or an allocation, read by one other thread. The writer never waits: when the reader
 * falls a lap behind, the overwritten entries are lost and counted.
 *
 * <p>Each slot is a small seqlock: its sequence is -1 while the writer fills it and the entry's
 * number once it is whole; the reader keeps an entry only when the sequence it saw before and
 * after copying it is the number it wanted.
 *
 * <p>One writer thread and one reader thread.
 */
final class TransitionRing {
    private static final VarHandle SEQ = MethodHandles.arrayElementVarHandle(long[].class);
    private static final TaskState[] STATES = TaskState.values();

    /** What the reader is handed, one entry at a time. */
    interface Visitor {
        void visit(long nanos, long taskKey, int attempt, TaskState from, TaskState to, String why, String worker,
                   String sessionId, String clientName);
    }

    private final int mask;
    private final long[] seq;
    private final long[] nanos;
    private final long[] keys;
    private final int[] attempts;
    private final byte[] froms;
    private final byte[] tos;
    private final String[] whys;
    private final String[] workers;
    private final String[] sessions;
    private final String[] clients;
    // Writer only.
    private long next;
    // Reader only.
    private long read;

    /** {@code capacity}: a power of two. */
    TransitionRing(int capacity) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two, not " + capacity);
        }
        mask = capacity - 1;
        seq = new long[capacity];
        java.util.Arrays.fill(seq, -1L);
        nanos = new long[capacity];
        keys = new long[capacity];
        attempts = new int[capacity];
        froms = new byte[capacity];
        tos = new byte[capacity];
        whys = new String[capacity];
        workers = new String[capacity];
        sessions = new String[capacity];
        clients = new String[capacity];
    }

    /** Writer: adds one entry, overwriting the oldest. */
    void put(long time, long taskKey, int attempt, TaskState from, TaskState to, String why, String worker,
             String sessionId, String clientName) {
        long n = next++;
        int i = (int) (n & mask);
        SEQ.setOpaque(seq, i, -1L);
        VarHandle.storeStoreFence();   // "being written" is seen before any of the new fields
        nanos[i] = time;
        keys[i] = taskKey;
        attempts[i] = attempt;
        froms[i] = (byte) from.ordinal();
        tos[i] = (byte) to.ordinal();
        whys[i] = why;
        workers[i] = worker;
        sessions[i] = sessionId;
        clients[i] = clientName;
        SEQ.setRelease(seq, i, n);
    }

    /** Reader: visits, oldest first, the entries written since the last call; returns how many were lost. */
    long drain(Visitor v) {
        long lost = 0;
        for (;;) {
            int i = (int) (read & mask);
            long before = (long) SEQ.getAcquire(seq, i);
            if (before < read) {
                return lost;   // not written yet (or being written for the first time)
            }
            if (before > read) {   // lapped: skip to the oldest entry still there
                long oldest = Math.max(read + 1, before - mask);
                lost += oldest - read;
                read = oldest;
                continue;
            }
            long time = nanos[i];
            long key = keys[i];
            int attempt = attempts[i];
            byte from = froms[i];
            byte to = tos[i];
            String why = whys[i];
            String worker = workers[i];
            String session = sessions[i];
            String client = clients[i];
            VarHandle.loadLoadFence();
            if ((long) SEQ.getOpaque(seq, i) != read) {
                continue;   // overwritten while copied: look again (the lap check above counts it)
            }
            read++;
            v.visit(time, key, attempt, STATES[from], STATES[to], why, worker, session, client);
        }
    }
}
