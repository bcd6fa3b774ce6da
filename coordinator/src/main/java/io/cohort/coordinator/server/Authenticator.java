package io.cohort.coordinator.server;

import io.cohort.common.ChannelSecurity;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.CodeServiceGrpc;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Checks the bearer token of every call and what its role may call: a client token cannot
 * attach as a worker (and so receive other clients' tasks), a worker token cannot submit, and
 * draining a worker is the admin token's alone (a coordinator without one lets nobody drain
 * over the network). Status answers clients and the admin (its heap measurement only the
 * admin). Services not named here (shared objects, payloads) take a client or worker token;
 * the gRPC health service takes none, as probes expect. Shipping code (CodeService uploads)
 * takes the code token when there is one (it is a client token too), else any client token;
 * only workers fetch shipped code.
 */
public final class Authenticator implements ServerInterceptor {
    public enum Role { CLIENT, WORKER, ADMIN }

    /** The caller's role, for services that act on it. */
    public static final Context.Key<Role> ROLE = Context.key("cohort-role");
    /** Whether the caller may ship code; unset (no tokens): yes. */
    private static final Context.Key<Boolean> SHIPS = Context.key("cohort-ships-code");

    private final byte[] clientToken;
    private final byte[] workerToken;
    private final byte[] adminToken;   // null: no admin role
    private final byte[] codeToken;    // null: every client token may ship code

    public Authenticator(String clientToken, String workerToken) {
        this(clientToken, workerToken, null);
    }

    /** {@code adminToken} may be null: then no caller may drain workers. */
    public Authenticator(String clientToken, String workerToken, String adminToken) {
        this(clientToken, workerToken, adminToken, null);
    }

    /** {@code codeToken} may be null: then every client token may ship code. */
    public Authenticator(String clientToken, String workerToken, String adminToken, String codeToken) {
        this.codeToken = codeToken == null ? null : codeToken.getBytes(StandardCharsets.UTF_8);
        this.clientToken = clientToken.getBytes(StandardCharsets.UTF_8);
        this.workerToken = workerToken.getBytes(StandardCharsets.UTF_8);
        this.adminToken = adminToken == null ? null : adminToken.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                      ServerCallHandler<Q, A> next) {
        String service = call.getMethodDescriptor().getServiceName();
        if (HealthGrpc.SERVICE_NAME.equals(service)) {
            return next.startCall(call, headers);   // probes carry no token; health tells only SERVING or not
        }
        String header = headers.get(ChannelSecurity.AUTHORIZATION);
        Role role = roleOf(header);
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
        boolean ships = role == Role.CLIENT && (codeToken == null || MessageDigest.isEqual(given(header), codeToken));
        return Contexts.interceptCall(Context.current().withValue(ROLE, role).withValue(SHIPS, ships), call, headers, next);
    }

    /** Whether the current call may ship code (true where no tokens are checked). */
    public static boolean mayShipCode() {
        Boolean ships = SHIPS.get();
        return ships == null || ships;
    }

    private static byte[] given(String header) {
        return header.substring("Bearer ".length()).getBytes(StandardCharsets.UTF_8);
    }

    /** The role of a bearer token header ("Bearer TOKEN"), or null when it is none of this coordinator's. */
    public Role roleOf(String header) {
        if (header == null || !header.startsWith("Bearer ")) {
            return null;
        }
        byte[] given = given(header);
        // Constant-time comparisons: the time taken must not tell how much of a guess matched.
        if (MessageDigest.isEqual(given, clientToken) | (codeToken != null && MessageDigest.isEqual(given, codeToken))) {
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
        if (CodeServiceGrpc.SERVICE_NAME.equals(service)) {
            return CodeServiceGrpc.getFetchMethod().getFullMethodName().equals(method) ? role == Role.WORKER
                    : role == Role.CLIENT;
        }
        if (AdminServiceGrpc.SERVICE_NAME.equals(service)) {
            return role == Role.ADMIN || (role == Role.CLIENT && AdminServiceGrpc.getStatusMethod().getFullMethodName().equals(method));
        }
        return role != Role.ADMIN;   // shared objects and payloads belong to sessions and their tasks
    }
}
