package io.cohort.bench.l0;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.TimeUnit;

/**
 * L0's client: one stream to the relay, items submitted one call each by the calling thread
 * (at most a window of them outstanding), results read and checked on the network thread.
 * No futures: the caller waits for a count of results.
 *
 * <p>Each run checks every result it measures: an {@link Items#INCREMENT} item's result is its
 * input plus one, a {@link Items#COPY} item's result has the payload's length and bytes (three
 * stripes of them compared), and every item is answered exactly once. A wrong result ends the
 * run with an {@link IllegalStateException}.
 *
 * <p>One run at a time; the run methods are called from one thread.
 */
public final class RelayClient implements AutoCloseable {
    private static final long WAIT_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(120);

    private final Loop loop = new Loop("l0-client");
    private final ManagedChannel channel;
    private final ClientCall<Frame, Frame> call;
    private final Outbox out;
    private final Object lock = new Object();
    /** Guarded by lock. */
    private int outstanding;
    /** Guarded by lock. */
    private long received;
    /** Guarded by lock: the application thread is waiting for results. */
    private boolean waiting;
    /** Guarded by lock. */
    private String failure;
    private long nextId;
    /** The run's result check, set before its first item is sent; read on the network thread. */
    private volatile Run run;

    public RelayClient(String target) {
        channel = loop.channel(target);
        call = channel.newCall(Frame.METHOD, CallOptions.DEFAULT.withOnReadyThreshold(1));
        out = new Outbox(Outbox.of(call));
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(Frame f) {
                Items.Reader r = new Items.Reader(f);
                Run current = run;
                int n = 0;
                String bad = null;
                while (r.next()) {
                    n++;
                    String why = current.check(r);
                    if (why != null && bad == null) {
                        bad = why;
                    }
                }
                synchronized (lock) {
                    outstanding -= n;
                    received += n;
                    if (bad != null && failure == null) {
                        failure = bad;
                    }
                    if (waiting) {
                        lock.notifyAll();
                    }
                }
                out.request(1);
            }

            @Override
            public void onReady() {
                out.flush();
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                synchronized (lock) {
                    if (failure == null) {
                        failure = "the relay stream closed: " + status;
                    }
                    lock.notifyAll();
                }
            }
        }, new Metadata());
        out.request(1);
    }

    /** W1's payload: {@code tasks} items of x -> x + 1 submitted one by one, then all gathered; tasks per second. */
    public double w1(int tasks, int window) {
        Run r = begin(new Increments(nextId, tasks));
        long start = System.nanoTime();
        for (int i = 0; i < tasks; i++) {
            long id = nextId++;
            admit(window);
            out.addLong(id, Items.INCREMENT, id);
            out.flush();
        }
        await(r, tasks);
        return tasks / ((System.nanoTime() - start) / 1e9);
    }

    /** W3's payload: one item at a time, {@code samples} times; {p50, p99} of the round trip in microseconds. */
    public double[] w3(int samples) {
        Run r = begin(new Increments(nextId, samples));
        long[] micros = new long[samples];
        for (int i = 0; i < samples; i++) {
            long id = nextId++;
            long t = System.nanoTime();
            admit(1);
            out.addLong(id, Items.INCREMENT, id);
            out.flush();
            await(r, i + 1);
            micros[i] = (System.nanoTime() - t) / 1_000;
        }
        Arrays.sort(micros);
        return new double[] {micros[samples / 2], micros[(int) Math.ceil(samples * 0.99) - 1]};
    }

    /** W5's payload: {@code tasks} items of {@code payload} copied by the workers; MiB per second, in + out. */
    public double w5(int tasks, byte[] payload, int window) {
        Run r = begin(new Copies(nextId, tasks, payload));
        long start = System.nanoTime();
        for (int i = 0; i < tasks; i++) {
            long id = nextId++;
            admit(window);
            out.add(id, Items.COPY, payload, 0, payload.length);
            out.flush();
        }
        await(r, tasks);
        return 2.0 * tasks * payload.length / (1 << 20) / ((System.nanoTime() - start) / 1e9);
    }

    private Run begin(Run r) {
        synchronized (lock) {
            if (failure != null) {
                throw new IllegalStateException("L0: " + failure);
            }
            received = 0;
        }
        run = r;
        return r;
    }

    /** Blocks while {@code window} items are outstanding. */
    private void admit(int window) {
        synchronized (lock) {
            waitWhile(() -> outstanding >= window);
            outstanding++;
        }
    }

    /** Blocks until {@code count} results of the run have arrived, then checks that each came exactly once. */
    private void await(Run r, long count) {
        synchronized (lock) {
            waitWhile(() -> received < count);
        }
        if (count == r.size()) {
            r.checkComplete();
        }
    }

    /** Waits on lock (held) while {@code condition} holds; throws on a failure or after {@link #WAIT_LIMIT_NANOS}. */
    private void waitWhile(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT_LIMIT_NANOS;
        try {
            while (failure == null && condition.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException("L0: no result for " + WAIT_LIMIT_NANOS / 1_000_000_000 + " s");
                }
                waiting = true;
                lock.wait(left / 1_000_000 + 1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("L0: interrupted", e);
        } finally {
            waiting = false;
        }
        if (failure != null) {
            throw new IllegalStateException("L0: " + failure);
        }
    }

    @Override
    public void close() {
        out.close(Status.OK);
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            loop.close();
        }
    }

    /** A run's result check: items {@code first .. first + size - 1}, each answered once. */
    private abstract static class Run {
        private final long first;
        private final int size;
        /** Touched only on the network thread, read by the caller after the lock hand-off. */
        private final BitSet seen;

        Run(long first, int size) {
            this.first = first;
            this.size = size;
            this.seen = new BitSet(size);
        }

        int size() {
            return size;
        }

        /** Null when the result is right, else why not. */
        String check(Items.Reader r) {
            long k = r.id() - first;
            if (k < 0 || k >= size) {
                return "a result for item " + r.id() + ", not one of this run's";
            }
            if (seen.get((int) k)) {
                return "item " + r.id() + " answered twice";
            }
            seen.set((int) k);
            return checkValue(r);
        }

        abstract String checkValue(Items.Reader r);

        void checkComplete() {
            if (seen.cardinality() != size) {
                throw new IllegalStateException("L0: " + (size - seen.cardinality()) + " of " + size + " items unanswered");
            }
        }
    }

    private static final class Increments extends Run {
        Increments(long first, int size) {
            super(first, size);
        }

        @Override
        String checkValue(Items.Reader r) {
            if (r.op() != Items.INCREMENT || r.length() != 8) {
                return "item " + r.id() + ": op " + r.op() + " of " + r.length() + " bytes";
            }
            long v = Items.readLong(r.bytes(), r.offset());
            return v == r.id() + 1 ? null : "item " + r.id() + " returned " + v;
        }
    }

    private static final class Copies extends Run {
        private static final int STRIPE = 64;
        private final byte[] payload;

        Copies(long first, int size, byte[] payload) {
            super(first, size);
            this.payload = payload;
        }

        @Override
        String checkValue(Items.Reader r) {
            int n = payload.length;
            if (r.op() != Items.COPY || r.length() != n) {
                return "item " + r.id() + ": op " + r.op() + " of " + r.length() + " bytes, expected " + n;
            }
            for (int from : new int[] {0, Math.max(0, n / 2 - STRIPE / 2), Math.max(0, n - STRIPE)}) {
                int to = Math.min(n, from + STRIPE);
                if (!Arrays.equals(r.bytes(), r.offset() + from, r.offset() + to, payload, from, to)) {
                    return "item " + r.id() + ": bytes " + from + ".." + to + " differ from the payload's";
                }
            }
            return null;
        }
    }
}
