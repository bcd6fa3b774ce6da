package io.cohort.coordinator.server;

import com.google.protobuf.ByteString;
import io.cohort.common.AliasingParse;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.FetchRequest;
import io.cohort.proto.v1.OfferRequest;
import io.cohort.proto.v1.OfferResponse;
import io.cohort.proto.v1.PayloadChunk;
import io.cohort.proto.v1.PayloadRef;
import io.cohort.proto.v1.PayloadServiceGrpc;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Relays large payloads (PayloadService) from the stream that offers them to the streams that
 * fetch them, chunk by chunk, never assembling one.
 *
 * <p>Design notes. An offer's next chunk is requested from its sender only when the fetch it
 * goes to is ready to take more, so what the coordinator holds of a payload is bounded by the
 * flow-control windows of the two streams and one chunk, whatever the payload's size. One
 * fetch runs per offer at a time; others queue behind it. A fetch that comes before its offer
 * (the task's submit may overtake the offer's first message) waits a bounded time, and only so
 * many wait at once. Each offer's state is guarded by the offer itself; handlers run on
 * transport threads and never block.
 *
 * <p>Payloads can also come from {@link Stored} bytes on the coordinator's disk (a recovered
 * task's argument, left in the journal): read on a thread of their own, a few at a time, and
 * sent chunk by chunk as the fetch is ready. Thread-safe.
 */
public final class PayloadRelay extends PayloadServiceGrpc.PayloadServiceImplBase implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PayloadRelay.class.getName());
    /** How long a fetch waits for the payload to be offered. */
    /** Stored payloads read into memory at once: each may be as large as an inline argument. */
    static final int STORED_AT_ONCE = 2;

    /** Payloads kept on the coordinator's disk. */
    public interface Stored {
        /** Whether {@code id} is one of its ids, held or gone (cheap, no I/O): never offered by anyone. */
        boolean has(String id);

        /** Its bytes, read now; null when it is gone. */
        ByteString read(String id) throws IOException;
    }

    private final long offerWaitMillis;
    private final int maxWaitingFetches;
    private final Stored stored;
    private final Map<String, Offer> offers = new ConcurrentHashMap<>();
    /** Guarded by itself: fetches that came before their offer, and how many. */
    private final Map<String, List<Fetch>> waiting = new HashMap<>();
    private int waitingCount;
    private final AtomicLong fetchIds = new AtomicLong();
    private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "cohort-payload-timer");
        t.setDaemon(true);
        return t;
    });
    private final ExecutorService storedReader = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "cohort-payload-disk");
        t.setDaemon(true);
        return t;
    });
    /** Guarded by itself: stored fetches waiting for one of the {@link #STORED_AT_ONCE} places. */
    private final ArrayDeque<Fetch> storedQueue = new ArrayDeque<>();
    private int storedActive;

    /** With no stored payloads and no limit on fetches waiting for their offer (tests). */
    public PayloadRelay(long offerWaitMillis) {
        this(offerWaitMillis, Integer.MAX_VALUE, null);
    }

    /**
     * {@code maxWaitingFetches}: fetches that may wait for their offer at once (more are refused
     * with RESOURCE_EXHAUSTED); {@code stored}: payloads on disk, or null.
     */
    public PayloadRelay(long offerWaitMillis, int maxWaitingFetches, Stored stored) {
        this.offerWaitMillis = offerWaitMillis;
        this.maxWaitingFetches = maxWaitingFetches;
        this.stored = stored;
        timer.setRemoveOnCancelPolicy(true);
    }

    /**
     * The service, with chunks parsed into their own buffers rather than copied out again. An
     * offer's frame that does not decode reaches its {@link Offer} as the INVALID_ARGUMENT
     * status that ends it (left to gRPC, the stream would end with UNKNOWN, outside the offer's
     * lock while a fetch may be writing to it).
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public ServerServiceDefinition definition() {
        ServerServiceDefinition plain = bindService();
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(plain.getServiceDescriptor().getName());
        for (ServerMethodDefinition m : plain.getMethods()) {
            MethodDescriptor d = AliasingParse.of(m.getMethodDescriptor());
            if (d.getFullMethodName().equals(PayloadServiceGrpc.getOfferMethod().getFullMethodName())) {
                d = d.toBuilder(UndecodableRequests.lenient(d.getRequestMarshaller(),
                        problem -> Status.INVALID_ARGUMENT.withDescription(problem)), d.getResponseMarshaller()).build();
            }
            b.addMethod(ServerMethodDefinition.create(d, m.getServerCallHandler()));
        }
        return b.build();
    }

    /** Payloads offered now (for status and tests). */
    public int offered() {
        return offers.size();
    }

    @Override
    @SuppressWarnings("unchecked")
    public StreamObserver<OfferRequest> offer(StreamObserver<OfferResponse> responses) {
        ServerCallStreamObserver<OfferResponse> call = (ServerCallStreamObserver<OfferResponse>) responses;
        call.disableAutoRequest();
        Offer o = new Offer(call);
        call.setOnCancelHandler(() -> o.end(null));
        call.request(1);
        // Its frames are OfferRequests, or the Status of one that did not decode (see definition).
        return (StreamObserver<OfferRequest>) (StreamObserver<?>) o;
    }

    @Override
    public void fetch(FetchRequest request, StreamObserver<PayloadChunk> responses) {
        ServerCallStreamObserver<PayloadChunk> call = (ServerCallStreamObserver<PayloadChunk>) responses;
        Fetch f = new Fetch(request.getId(), call);
        call.setOnReadyHandler(f::ready);
        call.setOnCancelHandler(f::cancelled);
        if (stored != null && stored.has(f.id)) {
            startStored(f);
            return;
        }
        Offer o = offers.get(f.id);
        if (o == null) {
            synchronized (waiting) {
                o = offers.get(f.id);   // offered meanwhile?
                if (o == null) {
                    if (waitingCount >= maxWaitingFetches) {
                        f.fail(Status.RESOURCE_EXHAUSTED.withDescription(waitingCount + " payload fetches already wait"
                                + " for their offer, the coordinator's limit (--max-waiting-payload-fetches); fetch "
                                + f.id + " was refused"));
                        return;
                    }
                    waiting.computeIfAbsent(f.id, k -> new ArrayList<>()).add(f);
                    waitingCount++;
                    f.timeout = timer.schedule(() -> giveUp(f), offerWaitMillis, TimeUnit.MILLISECONDS);
                    return;
                }
            }
        }
        o.add(f);
    }

    /** Whether {@code id} is offered now (for tests). */
    boolean isOffered(String id) {
        return offers.containsKey(id);
    }

    /** Fetches waiting for their offer now (for tests). */
    int waitingFetches() {
        synchronized (waiting) {
            return waitingCount;
        }
    }

    /** Takes {@code f} from the fetches waiting for their offer; false if it was not there. Holds waiting. */
    private boolean unwait(Fetch f) {
        List<Fetch> list = waiting.get(f.id);
        if (list == null || !list.remove(f)) {
            return false;
        }
        if (list.isEmpty()) {
            waiting.remove(f.id);
        }
        waitingCount--;
        return true;
    }

    private void giveUp(Fetch f) {
        synchronized (waiting) {
            if (!unwait(f)) {
                return;
            }
        }
        f.fail(Status.NOT_FOUND.withDescription("no payload " + f.id + " was offered within " + offerWaitMillis
                + " ms (its sender may have gone)"));
    }

    @Override
    public void close() {
        timer.shutdownNow();
        storedReader.shutdownNow();
    }

    // ---- payloads on disk

    private void startStored(Fetch f) {
        synchronized (storedQueue) {
            if (storedActive >= STORED_AT_ONCE) {
                storedQueue.add(f);
                return;
            }
            storedActive++;
        }
        readStored(f);
    }

    private void readStored(Fetch f) {
        try {
            storedReader.execute(() -> {
                ByteString bytes;
                try {
                    bytes = f.call.isCancelled() ? null : stored.read(f.id);
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot read stored payload " + f.id, e);
                    f.fail(Status.INTERNAL.withDescription("cannot read payload " + f.id + " from the coordinator's"
                            + " disk: " + e.getMessage()));
                    storedDone();
                    return;
                }
                if (f.call.isCancelled()) {
                    storedDone();
                } else if (bytes == null) {
                    f.fail(Status.NOT_FOUND.withDescription("payload " + f.id + " is gone (its task has ended)"));
                    storedDone();
                } else {
                    f.sendStored(bytes);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            f.fail(Status.UNAVAILABLE.withDescription("the coordinator is stopping"));
        }
    }

    /** A stored fetch ended (sent, failed or cancelled): the next one may read. */
    private void storedDone() {
        Fetch next;
        synchronized (storedQueue) {
            next = storedQueue.poll();
            if (next == null) {
                storedActive--;
                return;
            }
        }
        readStored(next);
    }

    /** One fetching stream. */
    private final class Fetch {
        final String id;
        final ServerCallStreamObserver<PayloadChunk> call;
        /** The offer serving it, once there is one. */
        volatile Offer offer;
        /** Its give-up while it waits for its offer. */
        volatile ScheduledFuture<?> timeout;
        // Guarded by this: stored bytes being sent, and how far.
        private ByteString storedBytes;
        private int sent;
        private boolean storedEnded;
        /** In {@link #pumpStored}: a ready callback made inside onNext must not send out of turn. */
        private boolean pumping;

        Fetch(String id, ServerCallStreamObserver<PayloadChunk> call) {
            this.id = id;
            this.call = call;
        }

        void ready() {
            Offer o = offer;
            if (o != null) {
                o.fetchReady(this);
            } else {
                pumpStored();
            }
        }

        void cancelled() {
            Offer o = offer;
            if (o != null) {
                o.fetchGone(this);
                return;
            }
            synchronized (this) {
                if (storedBytes != null && !storedEnded) {
                    storedEnded = true;
                    storedBytes = null;
                    storedDone();
                    return;
                }
            }
            boolean removed;
            synchronized (waiting) {
                removed = unwait(this);
            }
            ScheduledFuture<?> t = timeout;
            if (removed && t != null) {
                t.cancel(false);
            }
        }

        /** Waits no more for an offer: one came. */
        void matched() {
            ScheduledFuture<?> t = timeout;
            if (t != null) {
                t.cancel(false);
            }
        }

        void sendStored(ByteString bytes) {
            synchronized (this) {
                storedBytes = bytes;
            }
            pumpStored();
        }

        /** Sends stored chunks while the fetch's stream is ready; completes it after the last. */
        private synchronized void pumpStored() {
            ByteString bytes = storedBytes;
            if (bytes == null || storedEnded || pumping) {
                return;
            }
            pumping = true;
            try {
                while (!call.isCancelled() && sent < bytes.size() && call.isReady()) {
                    int n = Math.min(Protocol.CHUNK_BYTES, bytes.size() - sent);
                    call.onNext(PayloadChunk.newBuilder().setData(bytes.substring(sent, sent + n)).build());
                    sent += n;
                }
                if (call.isCancelled()) {
                    // ends below
                } else if (sent < bytes.size()) {
                    return;   // on-ready sends more
                } else {
                    call.onCompleted();
                }
            } catch (RuntimeException cancelled) {
                // the fetch went away meanwhile: its cancel handler frees its place if it has not
            } finally {
                pumping = false;
            }
            if (!storedEnded) {   // else its cancel handler ended it meanwhile
                storedEnded = true;
                storedBytes = null;
                storedDone();
            }
        }

        void fail(Status status) {
            try {
                call.onError(status.asRuntimeException());
            } catch (IllegalStateException alreadyEnded) {
                // cancelled by its caller meanwhile
            }
        }
    }

    /** One offering stream and the fetches it serves. */
    private final class Offer implements StreamObserver<Object> {
        private final ServerCallStreamObserver<OfferResponse> call;
        // Guarded by this.
        private PayloadRef ref;
        private boolean once;
        private final ArrayDeque<Fetch> queue = new ArrayDeque<>();
        private Fetch current;
        private long currentId;
        private long received;
        /** A chunk is wanted but the current fetch was not ready: its on-ready handler asks for it. */
        private boolean wantMore;
        private boolean ended;

        Offer(ServerCallStreamObserver<OfferResponse> call) {
            this.call = call;
        }

        @Override
        public synchronized void onNext(Object frame) {
            if (ended) {
                return;
            }
            if (frame instanceof Status undecodable) {
                end(null);   // drops the offer, fails its fetches
                call.onError(undecodable.asRuntimeException());
                return;
            }
            OfferRequest r = (OfferRequest) frame;
            if (ref == null) {
                first(r);
                return;
            }
            if (current == null || r.getFetchId() != currentId) {
                call.request(1);   // for a fetch that went away: drop it and take the next
                return;
            }
            received += r.getData().size();
            if (received > ref.getSize()) {
                failCurrent(Status.DATA_LOSS.withDescription("payload " + ref.getId() + ": the sender sent more than the "
                        + ref.getSize() + " bytes it offered"));
                call.request(1);
                return;
            }
            current.call.onNext(PayloadChunk.newBuilder().setData(r.getData()).build());
            if (!r.getLast()) {
                if (current.call.isReady()) {
                    call.request(1);
                } else {
                    wantMore = true;
                }
                return;
            }
            if (received != ref.getSize()) {
                failCurrent(Status.DATA_LOSS.withDescription("payload " + ref.getId() + " truncated: the sender sent "
                        + received + " of its " + ref.getSize() + " bytes"));
            } else {
                current.call.onCompleted();
                current = null;
                if (once) {
                    end(Status.OK);
                    return;
                }
            }
            startNext();
        }

        private void first(OfferRequest r) {
            if (!r.hasRef() || r.getRef().getId().isEmpty()) {
                ended = true;
                call.onError(Status.INVALID_ARGUMENT.withDescription("the first message of an offer must carry its ref")
                        .asRuntimeException());
                return;
            }
            ref = r.getRef();
            once = r.getOnce();
            List<Fetch> early;
            synchronized (waiting) {
                if (offers.putIfAbsent(ref.getId(), this) != null) {
                    ended = true;
                    call.onError(Status.ALREADY_EXISTS.withDescription("payload " + ref.getId() + " is already offered")
                            .asRuntimeException());
                    return;
                }
                early = waiting.remove(ref.getId());
                if (early != null) {
                    waitingCount -= early.size();
                }
            }
            if (early != null) {
                for (Fetch f : early) {
                    f.matched();
                    f.offer = this;
                    queue.add(f);
                }
                startNext();
            }
        }

        synchronized void add(Fetch f) {
            if (ended) {
                f.fail(Status.UNAVAILABLE.withDescription("payload " + f.id + " is no longer offered"));
                return;
            }
            f.offer = this;
            queue.add(f);
            startNext();
        }

        /** Starts the next queued fetch when none runs: the sender begins again from the start. */
        private void startNext() {
            while (current == null && !queue.isEmpty()) {
                Fetch f = queue.poll();
                if (f.call.isCancelled()) {
                    continue;
                }
                current = f;
                currentId = fetchIds.incrementAndGet();
                received = 0;
                wantMore = false;
                call.onNext(OfferResponse.newBuilder().setFetchId(currentId).build());
                call.request(1);
            }
        }

        synchronized void fetchReady(Fetch f) {
            if (f == current && wantMore && f.call.isReady()) {
                wantMore = false;
                call.request(1);
            }
        }

        synchronized void fetchGone(Fetch f) {
            if (f != current) {
                queue.remove(f);
                return;
            }
            current = null;
            if (wantMore) {
                wantMore = false;
                call.request(1);   // take and drop what the sender still sends for it
            }
            if (queue.isEmpty() && !ended) {
                call.onNext(OfferResponse.newBuilder().setFetchId(0).build());   // 0: stop sending
            }
            startNext();
        }

        private void failCurrent(Status status) {
            Fetch f = current;
            current = null;
            wantMore = false;
            f.fail(status);
            LOG.log(System.Logger.Level.WARNING, status.getDescription());
        }

        @Override
        public void onError(Throwable t) {
            end(null);
        }

        @Override
        public void onCompleted() {
            end(Status.OK);
        }

        /** Ends the offer: {@code status} OK completes our side, null means the stream already broke. */
        synchronized void end(Status status) {
            if (ended) {
                return;
            }
            ended = true;
            if (ref != null) {
                offers.remove(ref.getId(), this);
            }
            String id = ref == null ? "?" : ref.getId();
            if (current != null) {
                failCurrent(Status.UNAVAILABLE.withDescription("the sender of payload " + id
                        + " went away before sending all of it"));
            }
            for (Fetch f : queue) {
                f.fail(Status.UNAVAILABLE.withDescription("payload " + id + " is no longer offered"));
            }
            queue.clear();
            if (status != null && !call.isCancelled()) {
                try {
                    call.onCompleted();
                } catch (IllegalStateException alreadyClosed) {
                    // nothing to tell
                }
            }
        }
    }
}
