package io.cohort.bench.l0;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.ArrayDeque;

/**
 * The outbound side of one stream, and the only way to touch its call (gRPC calls are not
 * thread-safe, and here the application thread and transport threads both write).
 *
 * <p>Adaptive batching: items gather in frames of up to {@link #FRAME_BYTES}; {@link #flush}
 * writes them only while the stream is ready. Every stream is opened with an on-ready threshold
 * of 1 byte, so "not ready" means "a write is still pending": while one frame is in the socket
 * the next one fills up, and the batch size follows the load with nothing to tune.
 *
 * <p>Thread-safe: every method holds this object's lock, and none calls out while holding
 * another outbox's.
 */
final class Outbox {
    /** Items are appended to one frame until it holds this much; larger items travel alone. */
    static final int FRAME_BYTES = 64 << 10;

    /** What an outbox needs of a client or server call. */
    interface Call {
        boolean isReady();

        void send(Frame f);

        void request(int messages);

        void close(Status status);
    }

    private final Call call;
    private final ArrayDeque<Frame> full = new ArrayDeque<>();
    private final Items.Writer open = new Items.Writer();
    private boolean closed;

    Outbox(Call call) {
        this.call = call;
    }

    synchronized void addLong(long id, byte op, long value) {
        open.addLong(id, op, value);
        roll();
    }

    synchronized void add(long id, byte op, byte[] src, int off, int len) {
        open.add(id, op, src, off, len);
        roll();
    }

    synchronized void copyOf(Items.Reader r) {
        open.copyOf(r);
        roll();
    }

    /** Queues a whole frame as it was received (the relay forwards without copying its items). */
    synchronized void addFrame(Frame f) {
        if (open.count() > 0) {
            full.add(open.take());   // keep the order
        }
        full.add(f);
    }

    private void roll() {
        if (open.size() >= FRAME_BYTES) {
            full.add(open.take());
        }
    }

    /** Writes what is pending while the stream stays ready; the rest waits for the next on-ready. */
    synchronized void flush() {
        while (!closed && call.isReady()) {
            Frame f = full.poll();
            if (f == null) {
                if (open.count() == 0) {
                    return;
                }
                f = open.take();
            }
            call.send(f);
        }
    }

    synchronized void request(int messages) {
        if (!closed) {
            call.request(messages);
        }
    }

    /** Ends the stream: half-closes a client call, closes a server call with {@code status}. */
    synchronized void close(Status status) {
        if (!closed) {
            closed = true;
            call.close(status);
        }
    }

    static Call of(ClientCall<Frame, Frame> c) {
        return new Call() {
            @Override
            public boolean isReady() {
                return c.isReady();
            }

            @Override
            public void send(Frame f) {
                c.sendMessage(f);
            }

            @Override
            public void request(int messages) {
                c.request(messages);
            }

            @Override
            public void close(Status status) {
                if (status.isOk()) {
                    c.halfClose();
                } else {
                    c.cancel(status.getDescription(), status.getCause());
                }
            }
        };
    }

    /** A server call's outbox; sends the response headers first, as a server call must. */
    static Call of(ServerCall<Frame, Frame> c) {
        c.sendHeaders(new Metadata());
        return new Call() {
            @Override
            public boolean isReady() {
                return c.isReady();
            }

            @Override
            public void send(Frame f) {
                c.sendMessage(f);
            }

            @Override
            public void request(int messages) {
                c.request(messages);
            }

            @Override
            public void close(Status status) {
                c.close(status, new Metadata());
            }
        };
    }
}
