package io.cohort.coordinator.server;

import io.cohort.common.AliasingParse;
import io.cohort.proto.v1.FetchRequest;
import io.cohort.proto.v1.OfferRequest;
import io.cohort.proto.v1.OfferResponse;
import io.cohort.proto.v1.PayloadChunk;
import io.cohort.proto.v1.PayloadRef;
import io.cohort.proto.v1.PayloadServiceGrpc;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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
 * (the task's submit may overtake the offer's first message) waits a bounded time. Each
 * offer's state is guarded by the offer itself; handlers run on transport threads and never
 * block. Thread-safe.
 */
public final class PayloadRelay extends PayloadServiceGrpc.PayloadServiceImplBase implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PayloadRelay.class.getName());
    /** How long a fetch waits for the payload to be offered. */
    private final long offerWaitMillis;
    private final Map<String, Offer> offers = new ConcurrentHashMap<>();
    /** Guarded by itself: fetches that came before their offer. */
    private final Map<String, List<Fetch>> waiting = new HashMap<>();
    private final AtomicLong fetchIds = new AtomicLong();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "cohort-payload-timer");
        t.setDaemon(true);
        return t;
    });

    public PayloadRelay(long offerWaitMillis) {
        this.offerWaitMillis = offerWaitMillis;
    }

    /** The service, with chunks parsed into their own buffers rather than copied out again. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public ServerServiceDefinition definition() {
        ServerServiceDefinition plain = bindService();
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(plain.getServiceDescriptor().getName());
        for (ServerMethodDefinition m : plain.getMethods()) {
            b.addMethod(ServerMethodDefinition.create(AliasingParse.of(m.getMethodDescriptor()), m.getServerCallHandler()));
        }
        return b.build();
    }

    /** Payloads offered now (for status and tests). */
    public int offered() {
        return offers.size();
    }

    @Override
    public StreamObserver<OfferRequest> offer(StreamObserver<OfferResponse> responses) {
        ServerCallStreamObserver<OfferResponse> call = (ServerCallStreamObserver<OfferResponse>) responses;
        call.disableAutoRequest();
        Offer o = new Offer(call);
        call.setOnCancelHandler(() -> o.end(null));
        call.request(1);
        return o;
    }

    @Override
    public void fetch(FetchRequest request, StreamObserver<PayloadChunk> responses) {
        ServerCallStreamObserver<PayloadChunk> call = (ServerCallStreamObserver<PayloadChunk>) responses;
        Fetch f = new Fetch(request.getId(), call);
        call.setOnReadyHandler(f::ready);
        call.setOnCancelHandler(f::cancelled);
        Offer o = offers.get(f.id);
        if (o == null) {
            synchronized (waiting) {
                o = offers.get(f.id);   // offered meanwhile?
                if (o == null) {
                    waiting.computeIfAbsent(f.id, k -> new ArrayList<>()).add(f);
                    timer.schedule(() -> giveUp(f), offerWaitMillis, TimeUnit.MILLISECONDS);
                    return;
                }
            }
        }
        o.add(f);
    }

    private void giveUp(Fetch f) {
        synchronized (waiting) {
            List<Fetch> list = waiting.get(f.id);
            if (list == null || !list.remove(f)) {
                return;
            }
            if (list.isEmpty()) {
                waiting.remove(f.id);
            }
        }
        f.fail(Status.NOT_FOUND.withDescription("no payload " + f.id + " was offered within " + offerWaitMillis
                + " ms (its sender may have gone)"));
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /** One fetching stream. */
    private final class Fetch {
        final String id;
        final ServerCallStreamObserver<PayloadChunk> call;
        /** The offer serving it, once there is one. */
        volatile Offer offer;

        Fetch(String id, ServerCallStreamObserver<PayloadChunk> call) {
            this.id = id;
            this.call = call;
        }

        void ready() {
            Offer o = offer;
            if (o != null) {
                o.fetchReady(this);
            }
        }

        void cancelled() {
            Offer o = offer;
            if (o != null) {
                o.fetchGone(this);
                return;
            }
            synchronized (waiting) {
                List<Fetch> list = waiting.get(id);
                if (list != null && list.remove(this) && list.isEmpty()) {
                    waiting.remove(id);
                }
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
    private final class Offer implements StreamObserver<OfferRequest> {
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
        public synchronized void onNext(OfferRequest r) {
            if (ended) {
                return;
            }
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
            }
            if (early != null) {
                for (Fetch f : early) {
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
