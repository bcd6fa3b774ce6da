package io.cohort.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.common.ChannelSecurity;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.DrainRequest;
import io.cohort.proto.v1.StatusRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Draining a worker and measuring the heap are the admin token's alone; the status answers clients
 * and the admin; the health service answers anyone. Real sockets.
 */
class AdminRoleTest {
    private static final String CLIENT = "client-token-for-admin-role";
    private static final String WORKER = "worker-token-for-admin-role";
    private static final String ADMIN = "admin-token-for-admin-role";

    private static AdminServiceGrpc.AdminServiceBlockingStub admin(ManagedChannel ch) {
        return AdminServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    private static Status.Code drainCode(ManagedChannel ch) {
        return assertThrows(StatusRuntimeException.class,
                () -> admin(ch).drain(DrainRequest.newBuilder().setWorkerId("nobody").build())).getStatus().getCode();
    }

    @Test
    void onlyTheAdminTokenDrainsAndWithoutOneNobodyDoes() throws Exception {
        try (CoordinatorServer server = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .tokens(CLIENT, WORKER).adminToken(ADMIN).build())) {
            ManagedChannel asClient = new ChannelSecurity(null, null, null, CLIENT).channelBuilder(server.target()).build();
            ManagedChannel asAdmin = new ChannelSecurity(null, null, null, ADMIN).channelBuilder(server.target()).build();
            ManagedChannel asWorker = new ChannelSecurity(null, null, null, WORKER).channelBuilder(server.target()).build();
            try {
                assertEquals(Status.Code.NOT_FOUND, drainCode(asAdmin), "the admin may drain (no such worker here)");
                StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                        () -> admin(asClient).drain(DrainRequest.newBuilder().setWorkerId("nobody").build()));
                assertEquals(Status.Code.PERMISSION_DENIED, refused.getStatus().getCode());
                assertTrue(refused.getStatus().getDescription().contains("admin token"), refused.getStatus().getDescription());
                assertEquals(Status.Code.PERMISSION_DENIED, drainCode(asWorker));
                admin(asClient).status(StatusRequest.getDefaultInstance());   // a client sees the cluster
                admin(asAdmin).status(StatusRequest.getDefaultInstance());
                StatusRequest measure = StatusRequest.newBuilder().setMeasureHeap(true).build();
                StatusRuntimeException gc = assertThrows(StatusRuntimeException.class, () -> admin(asClient).status(measure));
                assertEquals(Status.Code.PERMISSION_DENIED, gc.getStatus().getCode(), "a client cannot make it collect");
                assertTrue(gc.getStatus().getDescription().contains("admin token"), gc.getStatus().getDescription());
                assertTrue(admin(asAdmin).status(measure).getHeapUsedAfterGcBytes() > 0, "the admin may measure");
            } finally {
                asClient.shutdownNow();
                asAdmin.shutdownNow();
                asWorker.shutdownNow();
            }
        }
        try (CoordinatorServer server = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .tokens(CLIENT, WORKER).build())) {
            ManagedChannel asClient = new ChannelSecurity(null, null, null, CLIENT).channelBuilder(server.target()).build();
            try {
                StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                        () -> admin(asClient).drain(DrainRequest.newBuilder().setWorkerId("nobody").build()));
                assertEquals(Status.Code.PERMISSION_DENIED, refused.getStatus().getCode());
                assertTrue(refused.getStatus().getDescription().contains("--admin-token-file"),
                        refused.getStatus().getDescription());
            } finally {
                asClient.shutdownNow();
            }
        }
    }

    @Test
    void healthTakesNoTokenSaysServingAndNotServingOnceClosing() throws Exception {
        CoordinatorServer server = CoordinatorServer.start(CoordinatorConfig.builder().port(0).tokens(CLIENT, WORKER).build());
        ManagedChannel probe = ChannelSecurity.PLAINTEXT.channelBuilder(server.target()).build();
        try {
            HealthCheckResponse.ServingStatus now = HealthGrpc.newBlockingStub(probe).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance()).getStatus();
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, now, "no token needed");
            StatusRuntimeException nothingElse = assertThrows(StatusRuntimeException.class,
                    () -> admin(probe).status(StatusRequest.getDefaultInstance()));
            assertEquals(Status.Code.UNAUTHENTICATED, nothingElse.getStatus().getCode(), "health opens nothing else");
            BlockingQueue<HealthCheckResponse.ServingStatus> seen = new LinkedBlockingQueue<>();
            HealthGrpc.newStub(probe).watch(HealthCheckRequest.getDefaultInstance(), new StreamObserver<>() {
                @Override public void onNext(HealthCheckResponse r) { seen.add(r.getStatus()); }
                @Override public void onError(Throwable t) { }
                @Override public void onCompleted() { }
            });
            assertEquals(HealthCheckResponse.ServingStatus.SERVING, seen.poll(30, TimeUnit.SECONDS));
            server.close();
            assertEquals(HealthCheckResponse.ServingStatus.NOT_SERVING, seen.poll(30, TimeUnit.SECONDS),
                    "a watcher hears NOT_SERVING before the server stops");
        } finally {
            server.close();
            probe.shutdownNow();
        }
    }

    @Test
    void anAdminTokenMustBeItsOwn() {
        assertThrows(IllegalArgumentException.class,
                () -> CoordinatorConfig.builder().tokens(CLIENT, WORKER).adminToken(CLIENT).build());
        assertThrows(IllegalArgumentException.class, () -> CoordinatorConfig.builder().adminToken(ADMIN).build());
    }
}
