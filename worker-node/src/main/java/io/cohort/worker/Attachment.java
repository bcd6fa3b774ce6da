package io.cohort.worker;

import com.google.protobuf.MessageLite;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerTaskStarted;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One {@code Attach} stream: its inbound side forwards to the daemon, its outbound side
 * batches.
 *
 * <p>Outbound design: any thread {@link #enqueue}s items and calls {@link #flush}; whoever
 * wins the {@code writing} flag drains everything queued into one {@link AttachRequest} per
 * write, and writes only while the call {@code isReady()}. Items left behind by a full
 * transport are flushed from the on-ready handler (which may fire spuriously: flush
 * re-checks). After releasing the flag the writer looks again, so an item added while it
 * was writing is never stranded. Thread-safe.
 */
final class Attachment implements ClientResponseObserver<AttachRequest, AttachResponse> {
    /** Coalesce up to about this much per message; one larger item still goes alone. */
    static final int BATCH_BYTES = 1 << 20;

    /** Queue markers for requests that are not a proto item. */
    private enum Marker { DRAINING, HEARTBEAT }

    interface Listener {
        void onResponse(Attachment attachment, AttachResponse response);

        /** The stream ended; {@code status} is OK when the coordinator completed it. */
        void onEnd(Attachment attachment, Status status);
    }

    private final Listener listener;
    private final ConcurrentLinkedQueue<Object> out = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean writing = new AtomicBoolean();
    private volatile ClientCallStreamObserver<AttachRequest> call;
    private volatile boolean closeRequested;
    private volatile boolean closed;   // written only by the writer holding the flag, or by end()
    private volatile long lastSendNanos = System.nanoTime();
    private volatile ScheduledFuture<?> heartbeat;
    private final AtomicBoolean ended = new AtomicBoolean();
    /** Only the gRPC callback thread touches it (callbacks are serialized). */
    boolean welcomed;

    Attachment(Listener listener) {
        this.listener = listener;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<AttachRequest> call) {
        this.call = call;
        call.disableAutoRequestWithInitial(1);
        call.setOnReadyHandler(this::flush);
    }

    @Override
    public void onNext(AttachResponse response) {
        listener.onResponse(this, response);
        call.request(1);
    }

    @Override
    public void onError(Throwable t) {
        end(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
        end(Status.OK);
    }

    private void end(Status status) {
        if (ended.compareAndSet(false, true)) {
            closed = true;
            ScheduledFuture<?> hb = heartbeat;
            if (hb != null) {
                hb.cancel(false);
            }
            listener.onEnd(this, status);
        }
    }

    void hello(WorkerHello hello) {
        out.add(hello);
        flush();
    }

    void enqueueStarted(WorkerTaskStarted started) {
        out.add(started);
    }

    void enqueueResult(WorkerTaskResult result) {
        out.add(result);
    }

    /** Any item a message carries: started, result or process output. */
    void enqueue(com.google.protobuf.MessageLite item) {
        out.add(item);
    }

    void enqueueDraining() {
        out.add(Marker.DRAINING);
    }

    /** Sends an empty message if nothing went out for {@code idleNanos}. */
    void heartbeatIfIdle(long idleNanos) {
        if (System.nanoTime() - lastSendNanos >= idleNanos) {
            out.add(Marker.HEARTBEAT);
            flush();
        }
    }

    void heartbeat(ScheduledFuture<?> task) {
        this.heartbeat = task;
        if (ended.get()) {
            task.cancel(false);
        }
    }

    /** Half-closes the stream once everything queued so far (and after) is written. */
    void closeWhenFlushed() {
        closeRequested = true;
        flush();
    }

    /** Abandons the stream at once (the daemon is stopping). */
    void cancel(String why) {
        ClientCallStreamObserver<AttachRequest> c = call;
        if (c != null) {
            c.cancel(why, null);
        }
    }

    void flush() {
        ClientCallStreamObserver<AttachRequest> c = call;
        if (c == null) {
            return;
        }
        while (writing.compareAndSet(false, true)) {
            try {
                writeWhileReady(c);
            } finally {
                writing.set(false);
            }
            if (closed || !c.isReady() || (out.isEmpty() && !closeRequested)) {
                return;
            }
        }
    }

    private void writeWhileReady(ClientCallStreamObserver<AttachRequest> c) {
        try {
            while (!closed) {
                if (out.isEmpty()) {
                    if (closeRequested) {
                        closed = true;
                        c.onCompleted();
                    }
                    return;
                }
                if (!c.isReady()) {
                    return;
                }
                c.onNext(nextBatch());
                lastSendNanos = System.nanoTime();
            }
        } catch (RuntimeException e) {
            // The call was cancelled under us; the stream's end is reported through onError.
            closed = true;
        }
    }

    /** Takes queued items (only the writer polls) into one request. */
    private AttachRequest nextBatch() {
        AttachRequest.Builder b = AttachRequest.newBuilder();
        WorkerColumns.Outbound columns = new WorkerColumns.Outbound();
        long bytes = 0;
        Object item;
        while ((item = out.peek()) != null) {
            int size = item instanceof WorkerTaskStarted ? 12
                    : item instanceof WorkerTaskResult r && WorkerColumns.fits(r) ? WorkerColumns.Outbound.size(r)
                    : item instanceof MessageLite m ? m.getSerializedSize() : 2;
            if (bytes > 0 && bytes + size > BATCH_BYTES) {
                break;
            }
            out.poll();
            bytes += size;
            if (size > TaskRunner.MAX_RESULT_BYTES) {
                item = OutboundLimit.fit(item);   // a message too large would end the stream for every task
            }
            if (item instanceof WorkerTaskResult r) {
                if (WorkerColumns.fits(r)) {
                    columns.add(r);
                } else {
                    b.addResults(r);
                }
            } else if (item instanceof WorkerTaskStarted s) {
                columns.add(s);
            } else if (item instanceof io.cohort.proto.v1.WorkerProcessOutput o) {
                b.addProcessOutput(o);
            } else if (item instanceof WorkerHello h) {
                b.setHello(h);
            } else if (item == Marker.DRAINING) {
                b.setDraining(true);
            }   // HEARTBEAT: the message itself is the heartbeat
        }
        columns.into(b);
        return b.build();
    }
}
