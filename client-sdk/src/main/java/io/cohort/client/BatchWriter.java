package io.cohort.client;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the session sends, in order: function definitions, submits and cancels go into one FIFO
 * queue; whichever thread finds the writer idle drains everything queued into messages, and
 * only while the stream is ready, so items that arrive while a write is pending coalesce into
 * the next batch (adaptive batching, no writer thread). Thread-safe.
 */
final class BatchWriter {
    private static final System.Logger LOG = System.getLogger(Session.class.getName());

    private final SessionStream stream;
    private final ConcurrentLinkedQueue<Object> outbound = new ConcurrentLinkedQueue<>();
    private final AtomicInteger drainers = new AtomicInteger();

    BatchWriter(SessionStream stream) {
        this.stream = stream;
    }

    /** Queues an item; {@link #drain} sends it. */
    void add(Object item) {
        outbound.add(item);
    }

    /** Drops what is queued (it was meant for a stream that is gone). */
    void clear() {
        outbound.clear();
    }

    /** Writes queued items while the stream is ready; one thread at a time, others leave it work. */
    void drain() {
        if (drainers.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        do {
            SessionStream.Call in = stream.current();
            var out = in.stream;
            try {
                while (stream.connected() && !in.halfClosed && out.isReady() && !outbound.isEmpty()) {
                    out.onNext(SubmitBatcher.next(outbound));
                }
                if (stream.connected() && stream.closeRequested() && !in.halfClosed && outbound.isEmpty()) {
                    in.halfClosed = true;
                    out.onCompleted();
                }
            } catch (RuntimeException e) {
                // The call was already cancelled; the inbound side reports why.
                LOG.log(System.Logger.Level.DEBUG, "write to " + stream.target() + " failed", e);
                outbound.clear();
            }
            missed = drainers.addAndGet(-missed);
        } while (missed != 0);
    }
}
