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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Draining a worker is the admin token's alone; the status answers clients and the admin. Real sockets. */
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
    void anAdminTokenMustBeItsOwn() {
        assertThrows(IllegalArgumentException.class,
                () -> CoordinatorConfig.builder().tokens(CLIENT, WORKER).adminToken(CLIENT).build());
        assertThrows(IllegalArgumentException.class, () -> CoordinatorConfig.builder().adminToken(ADMIN).build());
    }
}
