package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Bad input gets a clear error and loses nothing else. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BadInputTest {
    private static CohortExecutor cohort;
    private static String target;

    @BeforeAll
    static void startCluster() {
        cohort = Cohort.local(LocalClusterConfig.builder().workers(2).slotsPerWorker(1).build());
        target = ((RemoteExecutor) cohort).target();
    }

    @AfterAll
    static void stopCluster() {
        if (cohort != null) {
            cohort.close();
        }
    }

    @Test
    void aTaskWhoseClassNoWorkerCanLoadFailsAloneNamingTheClass(@TempDir Path dir) throws Exception {
        String source = """
                package elsewhere;
                public class OnlyOnTheClient implements io.cohort.client.RemoteCallable<String> {
                    public String call() { return "should not run"; }
                }
                """;
        Path file = dir.resolve("elsewhere/OnlyOnTheClient.java");
        Files.createDirectories(file.getParent());
        Files.writeString(file, source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "tests need a JDK");
        assertEquals(0, javac.run(null, null, null, "-cp", System.getProperty("java.class.path"),
                "-d", dir.toString(), file.toString()));
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            @SuppressWarnings("unchecked")
            RemoteCallable<String> task = (RemoteCallable<String>) loader.loadClass("elsewhere.OnlyOnTheClient")
                    .getDeclaredConstructor().newInstance();
            TaskFuture<String> f = cohort.submit(task);
            TaskFuture<Integer> fine = cohort.submit(() -> 1);
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(20, TimeUnit.SECONDS));
            assertTrue(String.valueOf(e.getCause().getMessage()).contains("elsewhere.OnlyOnTheClient"),
                    e.getCause().toString());
            assertEquals(1, fine.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void aClientSpeakingAnotherProtocolVersionIsRefusedWhileOthersCarryOn() throws Exception {
        ManagedChannel channel = new io.cohort.common.ChannelSecurity(null, null, null,
                ((RemoteExecutor) cohort).anotherClient().build().authToken().orElseThrow()).channelBuilder(target).build();
        try {
            CompletableFuture<Throwable> refused = new CompletableFuture<>();
            StreamObserver<SessionRequest> requests = ClientServiceGrpc.newStub(channel).session(
                    new StreamObserver<>() {
                        @Override
                        public void onNext(SessionResponse value) {
                            refused.completeExceptionally(new AssertionError("welcomed: " + value));
                        }

                        @Override
                        public void onError(Throwable t) {
                            refused.complete(t);
                        }

                        @Override
                        public void onCompleted() {
                            refused.completeExceptionally(new AssertionError("completed without error"));
                        }
                    });
            requests.onNext(SessionRequest.newBuilder().setHello(ClientHello.newBuilder()
                    .setProtocolVersion(99).setClientName("from the future")).build());
            Status status = Status.fromThrowable(refused.get(20, TimeUnit.SECONDS));
            assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode());
            assertTrue(status.getDescription().contains("99"), status.getDescription());
            assertEquals(4, cohort.submit(() -> 4).get(20, TimeUnit.SECONDS));
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void randomBytesOnTheCoordinatorsPortDisturbNoOne() throws Exception {
        String[] hostPort = target.split(":");
        Random random = new Random(42);
        for (int i = 0; i < 5; i++) {
            try (Socket s = new Socket(hostPort[0], Integer.parseInt(hostPort[1]))) {
                byte[] junk = new byte[1 << (10 + i)];
                random.nextBytes(junk);
                OutputStream out = s.getOutputStream();
                try {
                    out.write(junk);
                    out.flush();
                } catch (IOException closedByServer) {
                    // the coordinator hung up on the garbage, as it should
                }
            }
        }
        assertEquals(55, cohort.map((Integer x) -> x, java.util.List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
                .toList().stream().mapToInt(Integer::intValue).sum());
    }

    @Test
    void connectingWhereNothingListensFailsWithinTheTimeout() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        long start = System.nanoTime();
        CohortException e = assertThrows(CohortException.class, () -> Cohort.connect(ClientConfig.builder()
                .target("127.0.0.1:" + port).connectTimeout(Duration.ofSeconds(2)).build()));
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(millis < 5_000, "took " + millis + " ms");
        assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
    }

    @Test
    void connectingToSomethingThatIsNotACoordinatorFailsWithinTheTimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            long start = System.nanoTime();
            CohortException e = assertThrows(CohortException.class, () -> Cohort.connect(ClientConfig.builder()
                    .target("127.0.0.1:" + silent.getLocalPort()).connectTimeout(Duration.ofSeconds(1)).build()));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(millis < 5_000, "took " + millis + " ms");
            assertInstanceOf(CohortException.class, e);
        }
    }
}
