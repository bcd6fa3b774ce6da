package io.cohort.coordinator.server;

import io.cohort.common.ChannelSecurity;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Checks the bearer token of every call and what its role may call: a client token cannot
 * attach as a worker (and so receive other clients' tasks), a worker token cannot submit, and
 * draining a worker is the admin token's alone (a coordinator without one lets nobody drain
 * over the network). Status answers clients and the admin. Services not named here (shared
 * objects, payloads) take a client or worker token.
 */
public final class Authenticator implements ServerInterceptor {
    public enum Role { CLIENT, WORKER, ADMIN }

    /** The caller's role, for services that act on it. */
    public static final Context.Key<Role> ROLE = Context.key("cohort-role");

    private final byte[] clientToken;
    private final byte[] workerToken;
    private final byte[] adminToken;   // null: no admin role

    public Authenticator(String clientToken, String workerToken) {
        this(clientToken, workerToken, null);
    }

    /** {@code adminToken} may be null: then no caller may drain workers. */
    public Authenticator(String clientToken, String workerToken, String adminToken) {
        this.clientToken = clientToken.getBytes(StandardCharsets.UTF_8);
        this.workerToken = workerToken.getBytes(StandardCharsets.UTF_8);
        this.adminToken = adminToken == null ? null : adminToken.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                      ServerCallHandler<Q, A> next) {
        String header = headers.get(ChannelSecurity.AUTHORIZATION);
        Role role = roleOf(header);
        String service = call.getMethodDescriptor().getServiceName();
        if (role == null) {
            call.close(Status.UNAUTHENTICATED.withDescription(header == null
                    ? "this coordinator needs a token: give the client or worker its token"
                    : "the token is not valid here"), new Metadata());
            return new ServerCall.Listener<>() { };
        }
        if (!allowed(service, call.getMethodDescriptor().getFullMethodName(), role)) {
            boolean drain = AdminServiceGrpc.getDrainMethod().getFullMethodName()
                    .equals(call.getMethodDescriptor().getFullMethodName());
            call.close(Status.PERMISSION_DENIED.withDescription("a " + role.name().toLowerCase()
                    + " token cannot call " + (drain ? "Drain: it takes the admin token"
                    + (adminToken == null ? ", and this coordinator has none (--admin-token-file)" : "") : service)),
                    new Metadata());
            return new ServerCall.Listener<>() { };
        }
        return Contexts.interceptCall(Context.current().withValue(ROLE, role), call, headers, next);
    }

    /** The role of a bearer token header ("Bearer TOKEN"), or null when it is none of this coordinator's. */
    public Role roleOf(String header) {
        if (header == null || !header.startsWith("Bearer ")) {
            return null;
        }
        byte[] given = header.substring("Bearer ".length()).getBytes(StandardCharsets.UTF_8);
        // Constant-time comparisons: the time taken must not tell how much of a guess matched.
        if (MessageDigest.isEqual(given, clientToken)) {
            return Role.CLIENT;
        }
        if (MessageDigest.isEqual(given, workerToken)) {
            return Role.WORKER;
        }
        if (adminToken != null && MessageDigest.isEqual(given, adminToken)) {
            return Role.ADMIN;
        }
        return null;
    }

    private static boolean allowed(String service, String method, Role role) {
        if (WorkerServiceGrpc.SERVICE_NAME.equals(service)) {
            return role == Role.WORKER;
        }
        if (ClientServiceGrpc.SERVICE_NAME.equals(service)) {
            return role == Role.CLIENT;
        }
        if (AdminServiceGrpc.SERVICE_NAME.equals(service)) {
            return role == Role.ADMIN || (role == Role.CLIENT && AdminServiceGrpc.getStatusMethod().getFullMethodName().equals(method));
        }
        return role != Role.ADMIN;   // shared objects and payloads belong to sessions and their tasks
    }
}
