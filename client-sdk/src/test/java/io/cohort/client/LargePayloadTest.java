package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.FetchRequest;
import io.cohort.proto.v1.OfferRequest;
import io.cohort.proto.v1.OfferResponse;
import io.cohort.proto.v1.PayloadChunk;
import io.cohort.proto.v1.PayloadRef;
import io.cohort.proto.v1.PayloadServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Payloads over the message limit travel in chunks through a coordinator JVM whose heap (and,
 * through it, direct memory) is far smaller than the payload: it relays, never assembles.
 */
class LargePayloadTest {
    /** The coordinator's whole heap: an eighth of the argument it relays. */
    private static final String COORDINATOR_HEAP = "-Xmx128m";
    private static final int GIB = 1 << 30;
    private static Process coordinator;
    private static String target;
    private static final WorkerProcesses workers = new WorkerProcesses();
    private static CohortExecutor cohort;

    @BeforeAll
    static void cluster() throws Exception {
        coordinator = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                COORDINATOR_HEAP, "-cp", System.getProperty("java.class.path"), "io.cohort.cli.CoordinatorMain",
                "--port", "0", "--journal", "off").redirectErrorStream(true).start();
        CompletableFuture<String> listening = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            Pattern p = Pattern.compile("listening on (\\S+)");
            try (BufferedReader out = new BufferedReader(new InputStreamReader(coordinator.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) {
                    System.out.println("[coordinator] " + line);
                    Matcher m = p.matcher(line);
                    if (m.find()) {
                        listening.complete(m.group(1));
                    }
                }
                listening.completeExceptionally(new AssertionError("the coordinator exited: " + coordinator.waitFor()));
            } catch (IOException | InterruptedException e) {
                listening.completeExceptionally(e);
            }
        }, "coordinator-output");
        reader.setDaemon(true);
        reader.start();
        target = listening.get(60, TimeUnit.SECONDS);
        // The worker holds the fetched encoding and the decoded array of a 1 GiB argument.
        workers.start(List.of("-Xmx3g"), target, "big-1");
        // A loaded CI machine may take a while to start the coordinator's JVM.
        cohort = Cohort.connect(ClientConfig.builder().target(target).connectTimeout(java.time.Duration.ofSeconds(60)).build());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (cohort.clusterInfo().workers().isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "the worker did not attach within 60 s");
            java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);   // polls a condition, with a deadline
        }
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (cohort != null) {
            cohort.close();
        }
        workers.close();
        if (coordinator != null) {
            coordinator.destroyForcibly();
            coordinator.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aOneGibArgumentReachesItsTaskWhole() throws Exception {
        byte[] big = new byte[GIB];
        for (int i = 0; i < big.length; i += 4096) {
            big[i] = (byte) (i >>> 12);
            big[i + 4095] = (byte) (i >>> 20);
        }
        big[big.length - 1] = 42;
        long expected = crc(big);
        RemoteFunction<byte[], long[]> lengthAndCrc = b -> new long[] {b.length, crc(b)};
        long[] got = cohort.submit(lengthAndCrc, big).get(10, TimeUnit.MINUTES);
        assertArrayEquals(new long[] {GIB, expected}, got);
        assertTrue(coordinator.isAlive(), "the coordinator, with " + COORDINATOR_HEAP + ", relayed 1 GiB and lives");
    }

    @Test
    void aResultOfHundredsOfMibComesBackWhole() throws Exception {
        int size = 300 << 20;
        RemoteFunction<Integer, byte[]> make = n -> {
            byte[] b = new byte[n];
            new Random(n).nextBytes(b);
            return b;
        };
        byte[] got = cohort.submit(make, size).get(10, TimeUnit.MINUTES);
        byte[] expected = new byte[size];
        new Random(size).nextBytes(expected);
        assertEquals(size, got.length);
        assertEquals(crc(expected), crc(got));
        assertTrue(coordinator.isAlive());
    }

    @Test
    void truncatedChunksAndASenderThatLeavesGetClearErrorsAndOthersCarryOn() throws Exception {
        ManagedChannel raw = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
        try {
            // The sender says 10 MiB and ends after 1 MiB.
            Sender truncated = new Sender(raw, 10 << 20);
            Iterator<PayloadChunk> fetch = PayloadServiceGrpc.newBlockingStub(raw)
                    .fetch(FetchRequest.newBuilder().setId(truncated.id).build());
            truncated.send(ByteString.copyFrom(new byte[1 << 20]), true);
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> drain(fetch));
            assertEquals(Status.Code.DATA_LOSS, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("truncated"), e.getStatus().getDescription());

            // The sender goes away after its first chunk.
            Sender leaving = new Sender(raw, 10 << 20);
            Iterator<PayloadChunk> fetch2 = PayloadServiceGrpc.newBlockingStub(raw)
                    .fetch(FetchRequest.newBuilder().setId(leaving.id).build());
            leaving.send(ByteString.copyFrom(new byte[1 << 20]), false);
            assertEquals(1 << 20, fetch2.next().getData().size());
            leaving.call.cancel("the test's sender leaves", null);
            StatusRuntimeException gone = assertThrows(StatusRuntimeException.class, () -> drain(fetch2));
            assertEquals(Status.Code.UNAVAILABLE, gone.getStatus().getCode());
            assertTrue(gone.getStatus().getDescription().contains("went away"), gone.getStatus().getDescription());
        } finally {
            raw.shutdownNow();
        }
        RemoteFunction<Long, Long> inc = x -> x + 1;
        assertEquals(42L, cohort.submit(inc, 41L).get(60, TimeUnit.SECONDS));
        byte[] mid = new byte[20 << 20];   // over the chunk threshold, through the same relay
        mid[7] = 7;
        RemoteFunction<byte[], byte[]> same = b -> b;
        assertArrayEquals(mid, cohort.submit(same, mid).get(5, TimeUnit.MINUTES));
    }

    private static void drain(Iterator<PayloadChunk> chunks) {
        while (chunks.hasNext()) {
            chunks.next();
        }
    }

    static long crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return c.getValue();
    }

    /** A raw offer, driven by the test. */
    private static final class Sender implements ClientResponseObserver<OfferRequest, OfferResponse> {
        final String id = "test-" + UUID.randomUUID();
        final CompletableFuture<Long> fetchId = new CompletableFuture<>();
        volatile ClientCallStreamObserver<OfferRequest> call;

        Sender(ManagedChannel channel, long size) {
            PayloadServiceGrpc.newStub(channel).offer(this);
            call.onNext(OfferRequest.newBuilder().setRef(PayloadRef.newBuilder().setId(id).setSize(size)).build());
        }

        void send(ByteString data, boolean last) throws Exception {
            long fid = fetchId.get(60, TimeUnit.SECONDS);
            call.onNext(OfferRequest.newBuilder().setFetchId(fid).setData(data).setLast(last).build());
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<OfferRequest> call) {
            this.call = call;
        }

        @Override
        public void onNext(OfferResponse r) {
            fetchId.complete(r.getFetchId());
        }

        @Override
        public void onError(Throwable t) {
            fetchId.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
        }
    }
}
