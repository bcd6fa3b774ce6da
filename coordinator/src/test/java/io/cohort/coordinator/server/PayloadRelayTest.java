package io.cohort.coordinator.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.Payloads;
import io.cohort.proto.v1.FetchRequest;
import io.cohort.proto.v1.PayloadChunk;
import io.cohort.proto.v1.PayloadRef;
import io.cohort.proto.v1.PayloadServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The relay alone, in process: fetches that wait for their offer are capped; stored payloads are served from disk. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PayloadRelayTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    private ManagedChannel serve(PayloadRelay relay) throws IOException {
        String name = InProcessServerBuilder.generateName();
        Server server = InProcessServerBuilder.forName(name).directExecutor().addService(relay.definition()).build().start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        open.add(() -> {
            channel.shutdownNow();
            server.shutdownNow();
            relay.close();
        });
        return channel;
    }

    /** A fetch in flight: its chunks, and how it ended. */
    private static final class Fetch implements ClientResponseObserver<FetchRequest, PayloadChunk> {
        final CompletableFuture<ByteString> done = new CompletableFuture<>();
        private ByteString received = ByteString.EMPTY;
        volatile ClientCallStreamObserver<FetchRequest> call;

        static Fetch start(ManagedChannel channel, String id) {
            Fetch f = new Fetch();
            PayloadServiceGrpc.newStub(channel).fetch(FetchRequest.newBuilder().setId(id).build(), f);
            return f;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<FetchRequest> requestStream) {
            call = requestStream;
        }

        @Override
        public void onNext(PayloadChunk chunk) {
            received = received.concat(chunk.getData());
        }

        @Override
        public void onError(Throwable t) {
            done.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
            done.complete(received);
        }

        Status status() throws Exception {
            try {
                done.get(30, TimeUnit.SECONDS);
                return Status.OK;
            } catch (java.util.concurrent.ExecutionException e) {
                return Status.fromThrowable(e.getCause());
            }
        }
    }

    private static void waitUntil(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }

    @Test
    void fetchesBeyondTheCapOfThoseWaitingForTheirOfferAreRefusedClearlyAndOthersCarryOn() throws Exception {
        PayloadRelay relay = new PayloadRelay(60_000, 3, null);
        ManagedChannel channel = serve(relay);
        List<Fetch> waiting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            waiting.add(Fetch.start(channel, "never-offered-" + i));
        }
        waitUntil(() -> relay.waitingFetches() == 3, "three fetches wait");

        Status refused = Fetch.start(channel, "one-too-many").status();
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getCode());
        assertTrue(refused.getDescription().contains("--max-waiting-payload-fetches"), refused.getDescription());
        assertTrue(waiting.stream().noneMatch(f -> f.done.isDone()), "those already waiting still wait");

        // A fetch that goes away makes room, and an early fetch still gets its payload once it is offered.
        waiting.get(0).call.cancel("done waiting", null);
        waitUntil(() -> relay.waitingFetches() == 2, "the cancelled fetch no longer waits");
        byte[] bytes = new byte[100_000];
        new Random(1).nextBytes(bytes);
        ByteString payload = ByteString.copyFrom(bytes);
        try (Payloads.Offer offer = Payloads.offer(channel, payload, false)) {
            String id = offer.ref().getId();
            Fetch early = Fetch.start(channel, id);
            assertEquals(payload, early.done.get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void storedPayloadsAreReadWhenFetchedAndAGoneOneIsNotFound() throws Exception {
        byte[] bytes = new byte[5 << 20];
        new Random(2).nextBytes(bytes);
        ByteString payload = ByteString.copyFrom(bytes);
        AtomicInteger reads = new AtomicInteger();
        PayloadRelay relay = new PayloadRelay(60_000, 3, new PayloadRelay.Stored() {
            @Override
            public boolean has(String id) {
                return id.startsWith("disk-");
            }

            @Override
            public ByteString read(String id) {
                reads.incrementAndGet();
                return id.equals("disk-gone") ? null : payload;
            }
        });
        ManagedChannel channel = serve(relay);
        assertEquals(0, reads.get(), "nothing is read before it is fetched");
        List<Fetch> fetches = new ArrayList<>();
        for (int i = 0; i < 2 * PayloadRelay.STORED_AT_ONCE + 1; i++) {
            fetches.add(Fetch.start(channel, "disk-" + i));
        }
        for (Fetch f : fetches) {
            assertEquals(payload, f.done.get(30, TimeUnit.SECONDS));
        }
        assertEquals(fetches.size(), reads.get());
        assertEquals(payload, Payloads.fetch(channel, PayloadRef.newBuilder().setId("disk-again").setSize(bytes.length).build()));
        Status gone = Fetch.start(channel, "disk-gone").status();
        assertEquals(Status.Code.NOT_FOUND, gone.getCode());
    }
}
