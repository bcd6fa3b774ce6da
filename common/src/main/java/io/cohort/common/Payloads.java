package io.cohort.common;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.cohort.proto.v1.FetchRequest;
import io.cohort.proto.v1.OfferRequest;
import io.cohort.proto.v1.OfferResponse;
import io.cohort.proto.v1.PayloadChunk;
import io.cohort.proto.v1.PayloadRef;
import io.cohort.proto.v1.PayloadServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.util.Arrays;
import java.util.Iterator;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Both ends of a large payload's journey through the coordinator's PayloadService: {@link #offer}
 * on the side that has it (a client's argument, a worker's result), {@link #fetch} on the side
 * that needs it.
 */
public final class Payloads {
    private static final MethodDescriptor<FetchRequest, PayloadChunk> FETCH =
            AliasingParse.of(PayloadServiceGrpc.getFetchMethod());

    /** The most a fetch allocates before any byte has arrived. */
    static final int FIRST_BUFFER_BYTES = 2 * Protocol.CHUNK_ABOVE_BYTES;

    private Payloads() {}

    /** True when {@code bytes} must travel in chunks rather than inside a task's message. */
    public static boolean chunked(ByteString bytes) {
        return bytes.size() > Protocol.CHUNK_ABOVE_BYTES;
    }

    /**
     * Fetches a payload whole, blocking until it has come. Throws StatusRuntimeException with
     * the coordinator's reason when it cannot (not offered, sender gone, truncated), and
     * IllegalStateException when more or fewer bytes than the payload's declared size arrive.
     *
     * <p>The declared size comes from a peer and is not trusted with memory: the buffer starts
     * at {@link #FIRST_BUFFER_BYTES} at most and doubles as bytes arrive (never past the
     * declared size), so a payload that declares 2 GiB and sends little costs little.
     */
    public static ByteString fetch(Channel channel, PayloadRef ref) {
        long declared = ref.getSize();
        if (declared < 0 || declared > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("payload " + ref.getId() + " of " + Long.toUnsignedString(declared)
                    + " bytes is larger than one Java array can hold");
        }
        byte[] out = new byte[(int) Math.min(declared, FIRST_BUFFER_BYTES)];
        int at = 0;
        Iterator<PayloadChunk> chunks = ClientCalls.blockingServerStreamingCall(channel, FETCH, CallOptions.DEFAULT,
                FetchRequest.newBuilder().setId(ref.getId()).build());
        while (chunks.hasNext()) {
            ByteString data = chunks.next().getData();
            if (data.size() > declared - at) {
                throw new IllegalStateException("payload " + ref.getId() + ": more than the " + declared
                        + " bytes offered arrived");
            }
            if (data.size() > out.length - at) {
                out = Arrays.copyOf(out, (int) Math.min(declared, Math.max(2L * out.length, (long) at + data.size())));
            }
            data.copyTo(out, at);
            at += data.size();
        }
        if (at != declared) {
            throw new IllegalStateException("payload " + ref.getId() + " truncated: " + at + " of " + declared
                    + " bytes arrived");
        }
        return UnsafeByteOperations.unsafeWrap(out);   // ours alone
    }

    /**
     * Offers {@code bytes} for fetching until {@link Offer#close()} (or, when {@code once}, until
     * it has been fetched once). Chunks are slices of {@code bytes}, never copies.
     */
    public static Offer offer(Channel channel, ByteString bytes, boolean once) {
        Offer o = new Offer(bytes, once);
        ClientCalls.asyncBidiStreamingCall(channel.newCall(PayloadServiceGrpc.getOfferMethod(), CallOptions.DEFAULT), o);
        o.start();
        return o;
    }

    /**
     * One offered payload. The coordinator asks for it by fetch id; the payload is then written
     * chunk by chunk while the stream is ready (so at most a chunk or two wait in the
     * transport). Thread-safe.
     */
    public static final class Offer implements ClientResponseObserver<OfferRequest, OfferResponse>, AutoCloseable {
        private final ByteString bytes;
        private final PayloadRef ref;
        private final boolean once;
        private final CompletableFuture<Void> ended = new CompletableFuture<>();
        private ClientCallStreamObserver<OfferRequest> call;
        // Guarded by this.
        private long fetchId;
        private int sent;
        private boolean closed;

        private Offer(ByteString bytes, boolean once) {
            this.bytes = bytes;
            this.once = once;
            this.ref = PayloadRef.newBuilder().setId(UUID.randomUUID().toString()).setSize(bytes.size()).build();
        }

        /** What the receiving side needs to fetch it. */
        public PayloadRef ref() {
            return ref;
        }

        /** Completes when the coordinator ended the offer (normally after a once-offer's fetch), or it broke. */
        public CompletableFuture<Void> ended() {
            return ended;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<OfferRequest> call) {
            this.call = call;
            call.setOnReadyHandler(this::pump);
        }

        private synchronized void start() {
            call.onNext(OfferRequest.newBuilder().setRef(ref).setOnce(once).build());
        }

        @Override
        public synchronized void onNext(OfferResponse r) {
            fetchId = r.getFetchId();   // a new fetch starts from the beginning; 0 stops
            sent = 0;
            pump();
        }

        private synchronized void pump() {
            try {
                while (!closed && fetchId != 0 && call.isReady()) {
                    int n = Math.min(Protocol.CHUNK_BYTES, bytes.size() - sent);
                    boolean last = sent + n == bytes.size();
                    call.onNext(OfferRequest.newBuilder().setFetchId(fetchId)
                            .setData(bytes.substring(sent, sent + n)).setLast(last).build());
                    sent += n;
                    if (last) {
                        fetchId = 0;
                    }
                }
            } catch (RuntimeException e) {
                closed = true;   // the call was cancelled under us; onError says why
            }
        }

        @Override
        public void onError(Throwable t) {
            synchronized (this) {
                closed = true;
            }
            ended.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
            synchronized (this) {
                if (!closed) {
                    closed = true;
                    call.onCompleted();
                }
            }
            ended.complete(null);
        }

        /** Withdraws the offer (the payload is no longer needed); a fetch under way fails. */
        @Override
        public void close() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
            }
            try {
                call.onCompleted();
            } catch (RuntimeException ignored) {
                // already cancelled
            }
        }

        /** Drops the offer at once. */
        public void cancel(String why) {
            synchronized (this) {
                closed = true;
            }
            call.cancel(why, null);
        }
    }

    /** A short description of why a fetch failed, for the error a user sees. */
    public static String describe(RuntimeException e) {
        if (e instanceof StatusRuntimeException s) {
            return s.getStatus().getCode() + (s.getStatus().getDescription() == null ? "" : ": " + s.getStatus().getDescription());
        }
        return String.valueOf(e.getMessage());
    }
}
