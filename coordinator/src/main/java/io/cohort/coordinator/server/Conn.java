package io.cohort.coordinator.server;

import com.google.protobuf.Message;
import io.cohort.common.Protocol;
import io.cohort.coordinator.core.Command;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.ClientWelcome;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.WorkerWelcome;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayDeque;

/**
 * One client or worker stream as the scheduler thread sees it: its outbound batch being built
 * and the sealed messages gRPC was not ready for. Confined to the scheduler thread, except
 * {@link #id} and {@link #kind}.
 */
final class Conn {
    /** Seal a batch once it grows past this, well under the peer's inbound limit. */
    static final int MAX_BATCH_BYTES = 4 << 20;

    enum Kind { CLIENT, WORKER }

    enum State { AWAIT_HELLO, OPEN, CLOSED }

    final long id;
    final Kind kind;
    private final ServerCallStreamObserver<Message> call;
    private final ArrayDeque<Message> sealed = new ArrayDeque<>();
    private Message.Builder pending;
    private long pendingBytes;
    /** About the encoded size of {@code sealed}. */
    private long sealedBytes;
    /** The column parts of {@code pending}, set into it when it is sealed. */
    private ColumnWriter.Assigns assigns;
    private ColumnWriter.Results results;
    State state = State.AWAIT_HELLO;
    /** Listed for a flush at the end of this drain cycle. */
    boolean touched;
    /** Reported to the scheduler as not reading what it is sent. */
    boolean backedUp;

    @SuppressWarnings("unchecked")
    Conn(long id, Kind kind, ServerCallStreamObserver<?> call) {
        this.id = id;
        this.kind = kind;
        this.call = (ServerCallStreamObserver<Message>) call;
    }

    /**
     * Adds a command's part to the batch being built. A part that would take the batch past
     * {@link #MAX_BATCH_BYTES} starts a new one, so a big result travels alone and no message
     * exceeds the peer's limit by more than that part.
     */
    void add(Command c) {
        long size = partSize(c);
        if (pending != null && pendingBytes > 0 && pendingBytes + size > MAX_BATCH_BYTES) {
            seal();
        }
        if (pending == null) {
            pending = kind == Kind.CLIENT ? SessionResponse.newBuilder() : AttachResponse.newBuilder();
        }
        pendingBytes += size;
        if (c instanceof Command.SendResult r) {
            if (ColumnWriter.fits(r.result())) {
                if (results == null) {
                    results = new ColumnWriter.Results();
                }
                results.add(r.result());
            } else {
                ((SessionResponse.Builder) pending).addResults(r.result());
            }
        } else if (c instanceof Command.Assign a) {
            AttachResponse.Builder b = (AttachResponse.Builder) pending;
            b.addAllForgetFunctions(a.forgetFunctions());   // applied before the functions of the same message
            if (a.function() != null) {
                b.addFunctions(a.function());   // applied before the assigns of the same message
            }
            if (ColumnWriter.fits(a.assign())) {
                if (assigns == null) {
                    assigns = new ColumnWriter.Assigns();
                }
                assigns.add(a.assign());
            } else {
                b.addAssigns(a.assign());
            }
        } else if (c instanceof Command.ForwardOutput o) {
            ((SessionResponse.Builder) pending).addProcessOutput(o.output());
        } else if (c instanceof Command.NotifyStarted s) {
            ((SessionResponse.Builder) pending).addStarted(s.started());
        } else if (c instanceof Command.CancelOrder o) {
            ((AttachResponse.Builder) pending).addCancels(o.order());
        } else if (c instanceof Command.WelcomeClient w) {
            ((SessionResponse.Builder) pending).setWelcome(ClientWelcome.newBuilder()
                    .setProtocolVersion(Protocol.VERSION).setSessionId(w.sessionId()).setResumed(w.resumed())
                    .setMaxTasksInFlight(w.maxTasks())
                    .setMaxTaskBytesInFlight(w.maxTaskBytes() == Long.MAX_VALUE ? 0 : w.maxTaskBytes()));
        } else if (c instanceof Command.WelcomeWorker w) {
            ((AttachResponse.Builder) pending).setWelcome(WorkerWelcome.newBuilder().setProtocolVersion(Protocol.VERSION)
                    .setWorkerId(w.workerId()).setHeartbeatTimeoutMs(w.heartbeatTimeoutMs()));
        } else {
            throw new IllegalArgumentException("not a stream part: " + c);
        }
    }

    /** About what the part adds to the encoded message. */
    private static long partSize(Command c) {
        if (c instanceof Command.SendResult r) {
            return ColumnWriter.fits(r.result()) ? ColumnWriter.size(r.result()) : r.result().getSerializedSize() + 6L;
        } else if (c instanceof Command.ForwardOutput o) {
            return o.output().getSerializedSize() + 6L;
        } else if (c instanceof Command.Assign a) {
            long function = a.function() == null ? 0 : a.function().getSerializedSize() + 6L;
            return function + (ColumnWriter.fits(a.assign()) ? ColumnWriter.size(a.assign())
                    : a.assign().getSerializedSize() + 6L);
        }
        return 32;
    }

    private void seal() {
        if (pending != null) {
            if (assigns != null) {
                ((AttachResponse.Builder) pending).setAssignColumns(assigns.build());
                assigns = null;
            }
            if (results != null) {
                ((SessionResponse.Builder) pending).setResultColumns(results.build());
                results = null;
            }
            sealed.add(pending.build());
            sealedBytes += pendingBytes;
            pending = null;
            pendingBytes = 0;
        }
    }

    /**
     * Writes while gRPC is ready. What is not written waits for the next onReady; meanwhile the
     * open batch keeps growing, so a slow peer gets fewer, bigger messages.
     */
    void flush() {
        while (state != State.CLOSED && call.isReady()) {
            if (sealed.isEmpty()) {
                seal();
            }
            Message m = sealed.poll();
            if (m == null) {
                return;
            }
            sealedBytes = sealed.isEmpty() ? 0 : Math.max(0, sealedBytes - m.getSerializedSize());
            call.onNext(m);
        }
    }

    /** About how many encoded bytes wait to be written: sealed messages and the open batch. */
    long unwrittenBytes() {
        return sealedBytes + pendingBytes;
    }

    /** Ends the stream with an error, dropping what was not written. */
    void close(Status status) {
        end(() -> call.onError(status.asRuntimeException()));
    }

    /** The peer ended the stream: end ours too. */
    void finish() {
        end(call::onCompleted);
    }

    private void end(Runnable last) {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        sealed.clear();
        sealedBytes = 0;
        pending = null;
        assigns = null;
        results = null;
        if (!call.isCancelled()) {
            last.run();
        }
    }

    /** Asks gRPC for the next inbound message (inbound flow control: one processed, one more). */
    void request(int messages) {
        call.request(messages);
    }
}
