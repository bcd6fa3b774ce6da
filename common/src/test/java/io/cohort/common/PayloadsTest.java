package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.FetchRequest;
import io.cohort.proto.v1.PayloadChunk;
import io.cohort.proto.v1.PayloadRef;
import io.cohort.proto.v1.PayloadServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A fetch trusts a payload's declared size with no memory: the buffer grows as bytes arrive. */
class PayloadsTest {
    /** Serves each fetch the bytes set for it, in chunks of the real size. */
    private volatile ByteString served;
    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(new PayloadServiceGrpc.PayloadServiceImplBase() {
                    @Override
                    public void fetch(FetchRequest request, StreamObserver<PayloadChunk> out) {
                        ByteString bytes = served;
                        for (int at = 0; at < bytes.size(); at += Protocol.CHUNK_BYTES) {
                            out.onNext(PayloadChunk.newBuilder()
                                    .setData(bytes.substring(at, Math.min(bytes.size(), at + Protocol.CHUNK_BYTES))).build());
                        }
                        out.onCompleted();
                    }
                }).build().start();
        channel = NettyChannelBuilder.forAddress(InetAddress.getLoopbackAddress().getHostAddress(), server.getPort())
                .usePlaintext().maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).build();
    }

    @AfterEach
    void stop() {
        channel.shutdownNow();
        server.shutdownNow();
    }

    private static long allocatedByThisThread() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    void aPayloadDeclaringTwoGibAndSendingOneMibCostsAboutWhatArrived() {
        served = ByteString.copyFrom(new byte[1 << 20]);
        PayloadRef liar = PayloadRef.newBuilder().setId("p").setSize(Integer.MAX_VALUE - 100).build();
        long before = allocatedByThisThread();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Payloads.fetch(channel, liar));
        long allocated = allocatedByThisThread() - before;
        assertEquals("payload p truncated: 1048576 of " + (Integer.MAX_VALUE - 100) + " bytes arrived", e.getMessage());
        assertTrue(allocated < 64L << 20, "allocated " + allocated + " bytes for 1 MiB that arrived");
    }

    @Test
    void aPayloadOfManyChunksArrivesWholeThroughTheGrowingBuffer() {
        byte[] bytes = new byte[Payloads.FIRST_BUFFER_BYTES * 3 + 12_345];
        new Random(7).nextBytes(bytes);
        served = ByteString.copyFrom(bytes);
        ByteString got = Payloads.fetch(channel, PayloadRef.newBuilder().setId("p").setSize(bytes.length).build());
        assertEquals(served, got);
    }

    @Test
    void moreBytesThanDeclaredAreRefused() {
        served = ByteString.copyFrom(new byte[3 << 20]);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Payloads.fetch(channel, PayloadRef.newBuilder().setId("p").setSize(3 << 19).build()));
        assertEquals("payload p: more than the " + (3 << 19) + " bytes offered arrived", e.getMessage());
    }

    @Test
    void aDeclaredSizeNoJavaArrayHoldsIsRefusedBeforeAnyFetch() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Payloads.fetch(channel, PayloadRef.newBuilder().setId("p").setSize(-1).build()));
        assertEquals("payload p of 18446744073709551615 bytes is larger than one Java array can hold", e.getMessage());
    }
}
