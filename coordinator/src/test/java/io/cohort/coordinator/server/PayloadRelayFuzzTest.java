package io.cohort.coordinator.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.Payloads;
import io.cohort.common.Protocol;
import io.cohort.coordinator.Fuzz;
import io.cohort.coordinator.RawCalls;
import io.cohort.proto.v1.FetchRequest;
import io.cohort.proto.v1.OfferRequest;
import io.cohort.proto.v1.OfferResponse;
import io.cohort.proto.v1.PayloadChunk;
import io.cohort.proto.v1.PayloadRef;
import io.cohort.proto.v1.PayloadServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Random PayloadService offers and fetches against the coordinator's payload relay, served on
 * a loopback port as the coordinator serves it (with a short offer wait, so that fetches that
 * wait for an offer that never comes end within a case). Offers carry no ref, an empty id, ids
 * another offer holds, declared sizes that lie (short, long, zero, past 2^63), chunks tagged
 * for the wrong fetch, a last chunk too early or never, and streams that end at once, stall or
 * are cancelled part-way. Fetches name unknown ids, ids not yet offered, ids on the
 * coordinator's disk, and some are cancelled. Beside them, real payloads are offered with the
 * SDK's own {@link Payloads.Offer} and fetched.
 *
 * <p>Properties, per case: every stream ends with OK or a named fault (never UNKNOWN or
 * INTERNAL), with a description; a fetch nobody offers for ends NOT_FOUND soon after the
 * offer wait, never later; a fetch that completes got exactly the declared size; every real
 * payload is fetched byte-exact; and once the case's streams are done the relay holds no
 * offer and no waiting fetch.
 */
class PayloadRelayFuzzTest {
    /** How long a fetch waits for its offer here (the coordinator's is 60 s). */
    private static final long OFFER_WAIT_MS = 50;
    private static final int MAX_WAITING = 6;
    private static final ByteString STORED = ByteString.copyFromUtf8("bytes kept on the coordinator's disk");
    private static final Set<Status.Code> FETCH_ENDS = Set.of(Status.Code.OK, Status.Code.NOT_FOUND,
            Status.Code.UNAVAILABLE, Status.Code.DATA_LOSS, Status.Code.RESOURCE_EXHAUSTED);
    private static final Set<Status.Code> OFFER_ENDS = Set.of(Status.Code.OK, Status.Code.INVALID_ARGUMENT,
            Status.Code.ALREADY_EXISTS);

    /** What the hostile fetches ended with, over all cases: the run is not vacuous. */
    private static final java.util.Map<Status.Code, Integer> SEEN = new java.util.concurrent.ConcurrentHashMap<>();
    private static PayloadRelay relay;
    private static Server server;
    private static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        relay = new PayloadRelay(OFFER_WAIT_MS, MAX_WAITING, new PayloadRelay.Stored() {
            @Override
            public boolean has(String id) {
                return id.startsWith("disk-");
            }

            @Override
            public ByteString read(String id) {
                return id.equals("disk-gone") ? null : STORED;
            }
        });
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).addService(relay.definition()).build().start();
        channel = Grpc.newChannelBuilder("127.0.0.1:" + server.getPort(), InsecureChannelCredentials.create())
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).build();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        relay.close();
    }

    // ---- the case

    /** How a hostile offer answers the relay's fetch ids. */
    enum Behaviour { TRUE, WRONG_FETCH_ID, LAST_TOO_EARLY, NEVER_LAST, CANCEL_PART_WAY, END_AT_ONCE, STALL }

    /** A hostile offer: its id (null: no ref), what it declares and has, and how it behaves. */
    record HostileOffer(String id, boolean once, long declared, int length, int chunk, Behaviour behaviour) {}

    /** A fetch of {@code id}; cancelled after {@code cancelAfterMs} when that is not negative. */
    record FetchStep(String id, long cancelAfterMs) {}

    /** A real payload offered by the SDK's Offer and fetched (twice at once when not offered once). */
    record RealPayload(int length, boolean once, int fetches) {}

    /** A case: hostile offers and fetches in the order they start, and real payloads beside them. */
    record Case(List<Object> steps, List<RealPayload> real, long seed) {}

    private static final String[] IDS = {"p0", "p1", "p2", "", "disk-1", "disk-gone"};
    private static final Behaviour[] BEHAVIOURS = Behaviour.values();

    private static int length(Random r) {
        int pick = r.nextInt(10);
        return pick < 3 ? r.nextInt(8) : pick < 9 ? r.nextInt(100_000) : Protocol.CHUNK_BYTES + r.nextInt(1000);
    }

    private static Case generate(Random r) {
        List<Object> steps = new ArrayList<>();
        for (int i = r.nextInt(8); i > 0; i--) {
            if (r.nextBoolean()) {
                String id = r.nextInt(10) == 0 ? null : IDS[r.nextInt(IDS.length)];
                int length = r.nextInt(5) == 0 ? r.nextInt(8) : r.nextInt(200_000);
                long[] declared = {length, length + 1L, Math.max(0, length - 1L), 0, -1, Long.MIN_VALUE};
                steps.add(new HostileOffer(id, r.nextBoolean(), r.nextBoolean() ? length : declared[r.nextInt(6)],
                        length, 1 + r.nextInt(r.nextBoolean() ? 64 : 70_000), BEHAVIOURS[r.nextInt(BEHAVIOURS.length)]));
            } else {
                // Mostly an id this case offers (before or after), else any.
                List<String> offered = steps.stream().filter(x -> x instanceof HostileOffer o && o.id() != null)
                        .map(x -> ((HostileOffer) x).id()).toList();
                String id = r.nextInt(4) == 0 ? "unknown-" + r.nextInt(1000)
                        : !offered.isEmpty() && r.nextInt(3) != 0 ? offered.get(r.nextInt(offered.size()))
                        : IDS[r.nextInt(IDS.length)];
                steps.add(new FetchStep(id, r.nextInt(4) == 0 ? r.nextInt(30) : -1));
            }
        }
        List<RealPayload> real = new ArrayList<>();
        for (int i = r.nextInt(3); i > 0; i--) {
            real.add(new RealPayload(length(r), r.nextBoolean(), 1 + r.nextInt(2)));
        }
        return new Case(steps, real, r.nextLong());
    }

    /** A hostile offering stream, scripted by its {@link HostileOffer}. */
    private static final class Offerer implements ClientResponseObserver<OfferRequest, OfferResponse> {
        final HostileOffer script;
        final ByteString bytes;
        final CompletableFuture<Status> end = new CompletableFuture<>();
        ClientCallStreamObserver<OfferRequest> call;
        private boolean closed;

        Offerer(HostileOffer script, Random r) {
            this.script = script;
            byte[] b = new byte[script.length()];
            r.nextBytes(b);
            this.bytes = ByteString.copyFrom(b);
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<OfferRequest> call) {
            this.call = call;
        }

        synchronized void start() {
            OfferRequest.Builder first = OfferRequest.newBuilder().setOnce(script.once());
            if (script.id() != null) {
                first.setRef(PayloadRef.newBuilder().setId(script.id()).setSize(script.declared()));
            }
            call.onNext(first.build());
            if (script.behaviour() == Behaviour.END_AT_ONCE) {
                close();
            }
        }

        @Override
        public synchronized void onNext(OfferResponse r) {
            long fetchId = r.getFetchId();
            if (closed || fetchId == 0 || script.behaviour() == Behaviour.STALL) {
                return;
            }
            int chunks = 0;
            for (int at = 0; at < bytes.size() || at == 0; ) {
                int n = Math.min(script.chunk(), bytes.size() - at);
                boolean last = at + n == bytes.size();
                if (script.behaviour() == Behaviour.NEVER_LAST) {
                    last = false;
                } else if (script.behaviour() == Behaviour.LAST_TOO_EARLY && chunks == 0) {
                    last = true;
                }
                if (script.behaviour() == Behaviour.CANCEL_PART_WAY && chunks == 1) {
                    closed = true;
                    call.cancel("part-way", null);
                    return;
                }
                call.onNext(OfferRequest.newBuilder()
                        .setFetchId(script.behaviour() == Behaviour.WRONG_FETCH_ID ? fetchId + 1 : fetchId)
                        .setData(bytes.substring(at, at + n)).setLast(last).build());
                chunks++;
                at += n;
                if (last || n == 0) {
                    return;
                }
            }
        }

        synchronized void close() {
            if (!closed) {
                closed = true;
                call.onCompleted();
            }
        }

        @Override
        public void onError(Throwable t) {
            synchronized (this) {
                closed = true;
            }
            end.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            close();
            end.complete(Status.OK);
        }
    }

    /** A fetch in flight: its bytes, how it ended, and how long that took. */
    private static final class Fetcher implements ClientResponseObserver<FetchRequest, PayloadChunk> {
        final String id;
        final long started = System.nanoTime();
        final CompletableFuture<ByteString> done = new CompletableFuture<>();
        volatile long endedAt;
        volatile boolean cancelled;
        private ByteString received = ByteString.EMPTY;
        ClientCallStreamObserver<FetchRequest> call;

        Fetcher(String id) {
            this.id = id;
            PayloadServiceGrpc.newStub(channel).fetch(FetchRequest.newBuilder().setId(id).build(), this);
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<FetchRequest> call) {
            this.call = call;
        }

        @Override
        public synchronized void onNext(PayloadChunk chunk) {
            received = received.concat(chunk.getData());
        }

        @Override
        public void onError(Throwable t) {
            endedAt = System.nanoTime();
            done.completeExceptionally(t);
        }

        @Override
        public synchronized void onCompleted() {
            endedAt = System.nanoTime();
            done.complete(received);
        }

        void cancel() {
            cancelled = true;
            call.cancel("the fetcher gave up", null);
        }

        Status status() throws Exception {
            try {
                done.get(10, TimeUnit.SECONDS);
                return Status.OK;
            } catch (ExecutionException e) {
                return Status.fromThrowable(e.getCause());
            }
        }
    }

    private static void run(Case c) throws Exception {
        Random r = new Random(c.seed());
        List<Offerer> offerers = new ArrayList<>();
        List<Fetcher> fetchers = new ArrayList<>();
        List<Payloads.Offer> realOffers = new ArrayList<>();
        List<List<Fetcher>> realFetches = new ArrayList<>();
        List<ByteString> realBytes = new ArrayList<>();
        for (Object step : c.steps()) {
            if (step instanceof HostileOffer h) {
                Offerer o = new Offerer(h, r);
                PayloadServiceGrpc.newStub(channel).offer(o);
                o.start();
                offerers.add(o);
            } else {
                FetchStep f = (FetchStep) step;
                Fetcher fetcher = new Fetcher(f.id());
                fetchers.add(fetcher);
                if (f.cancelAfterMs() == 0) {
                    fetcher.cancel();
                }
            }
        }
        for (RealPayload p : c.real()) {
            byte[] b = new byte[p.length()];
            r.nextBytes(b);
            ByteString bytes = ByteString.copyFrom(b);
            realBytes.add(bytes);
            Payloads.Offer offer = Payloads.offer(channel, bytes, p.once());
            // Fetched once offered: a fetch that overtakes its offer waits 50 ms here, too short on a loaded machine.
            Fuzz.awaitCondition("payload offered", () -> relay.isOffered(offer.ref().getId()));
            List<Fetcher> fs = new ArrayList<>();
            for (int i = 0; i < (p.once() ? 1 : p.fetches()); i++) {
                fs.add(new Fetcher(offer.ref().getId()));
            }
            realOffers.add(offer);
            realFetches.add(fs);
        }
        // Cancel the fetches that give up, once their time has come (a bounded wait on each one's end).
        List<FetchStep> fetchSteps = c.steps().stream().filter(s -> s instanceof FetchStep).map(s -> (FetchStep) s)
                .toList();
        for (int i = 0; i < fetchers.size(); i++) {
            long after = fetchSteps.get(i).cancelAfterMs();
            Fetcher f = fetchers.get(i);
            if (after > 0) {
                try {
                    f.done.get(after, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException | ExecutionException e) {
                    f.cancel();
                }
            }
        }
        // Real payloads: every fetch byte-exact.
        for (int i = 0; i < realOffers.size(); i++) {
            for (Fetcher f : realFetches.get(i)) {
                Status end = f.status();
                assertEquals(Status.Code.OK, end.getCode(), () -> "a real payload's fetch ended with " + end);
                assertEquals(realBytes.get(i), f.done.get(), "real payload " + i + " fetched");
            }
            realOffers.get(i).close();
        }
        // The hostile offers end (those that stall included), so every fetch they serve ends too.
        for (Offerer o : offerers) {
            o.close();
        }
        // Hostile fetches end with named faults; one nobody offers for gives up at the offer wait, not later.
        for (Fetcher f : fetchers) {
            Status s = f.status();
            SEEN.merge(s.getCode(), 1, Integer::sum);
            if (f.cancelled && s.getCode() == Status.Code.CANCELLED) {
                continue;
            }
            assertTrue(FETCH_ENDS.contains(s.getCode()), () -> "fetch of '" + f.id + "' ended with " + s);
            if (!s.isOk()) {
                assertTrue(s.getDescription() != null && !s.getDescription().isBlank(), "no description: " + s);
            }
            if (s.getCode() == Status.Code.NOT_FOUND && f.id.startsWith("unknown-")) {
                long ms = (f.endedAt - f.started) / 1_000_000;
                assertTrue(ms < OFFER_WAIT_MS + 2000, "a fetch waited " + ms + " ms for an offer that never came");
            }
            if (s.isOk() && !f.id.startsWith("disk-")) {
                long size = f.done.get().size();
                assertTrue(offerers.stream().anyMatch(o -> f.id.equals(o.script.id()) && o.script.declared() == size),
                        "a fetch of '" + f.id + "' completed with " + size + " bytes, a size no offer declared");
            } else if (s.isOk()) {
                assertEquals(STORED, f.done.get());
            }
        }
        for (Offerer o : offerers) {
            Status s = o.end.get(10, TimeUnit.SECONDS);
            if (o.script.behaviour() == Behaviour.CANCEL_PART_WAY && s.getCode() == Status.Code.CANCELLED) {
                continue;
            }
            assertTrue(OFFER_ENDS.contains(s.getCode()), () -> "offer " + o.script + " ended with " + s);
        }
        Fuzz.awaitCondition("the relay still holds " + relay.offered() + " offers and " + relay.waitingFetches()
                + " waiting fetches", () -> relay.offered() == 0 && relay.waitingFetches() == 0);
    }


    @Test
    void randomOffersAndFetchesEndClearlyAndRealPayloadsArriveByteExact() {
        int cases = Fuzz.check("payload-offers-fetches", 41, 200, Duration.ofSeconds(8),   // ten cases took over 3 s at load 20
                PayloadRelayFuzzTest::generate, PayloadRelayFuzzTest::run);
        assertTrue(cases >= 10, "only " + cases + " cases ran");
        System.out.println("fuzz payload-offers-fetches: hostile fetches ended " + SEEN);
        assertTrue(SEEN.containsKey(Status.Code.OK) && SEEN.containsKey(Status.Code.NOT_FOUND)
                && (SEEN.containsKey(Status.Code.UNAVAILABLE) || SEEN.containsKey(Status.Code.DATA_LOSS)),
                "hostile fetches ended " + SEEN);
    }

    /**
     * An offer stream whose frame does not decode ends with INVALID_ARGUMENT naming it (not
     * UNKNOWN), whether the frame is its first or comes after its ref; a fetch it was serving
     * ends UNAVAILABLE, and the relay holds nothing after.
     */
    @Test
    void anUndecodableOfferFrameIsInvalidArgumentAndEndsOnlyThatOffer() throws Exception {
        MethodDescriptor<byte[], byte[]> raw = RawCalls.raw(PayloadServiceGrpc.getOfferMethod());
        byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff};
        byte[] ref = OfferRequest.newBuilder().setRef(PayloadRef.newBuilder().setId("undecodable").setSize(10))
                .build().toByteArray();
        for (boolean afterRef : new boolean[] {false, true}) {
            CompletableFuture<Status> end = new CompletableFuture<>();
            CompletableFuture<Void> asked = new CompletableFuture<>();
            io.grpc.stub.StreamObserver<byte[]> requests = io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
                    channel.newCall(raw, io.grpc.CallOptions.DEFAULT), new io.grpc.stub.StreamObserver<byte[]>() {
                        @Override
                        public void onNext(byte[] value) {
                            asked.complete(null);
                        }

                        @Override
                        public void onError(Throwable t) {
                            end.complete(Status.fromThrowable(t));
                        }

                        @Override
                        public void onCompleted() {
                            end.complete(Status.OK);
                        }
                    });
            Fetcher waiting = null;
            if (afterRef) {
                requests.onNext(ref);
                Fuzz.awaitCondition("offered", () -> relay.isOffered("undecodable"));
                waiting = new Fetcher("undecodable");
                asked.get(10, TimeUnit.SECONDS);
            }
            requests.onNext(garbage);
            Status s = end.get(10, TimeUnit.SECONDS);
            assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), () -> "ended with " + s);
            assertTrue(s.getDescription().startsWith("a message that does not decode: "), s.getDescription());
            if (waiting != null) {
                assertEquals(Status.Code.UNAVAILABLE, waiting.status().getCode());
            }
            Fuzz.awaitCondition("the relay holds nothing", () -> relay.offered() == 0 && relay.waitingFetches() == 0);
        }
    }
}
