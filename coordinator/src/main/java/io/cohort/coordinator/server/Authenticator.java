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
 * attach as a worker (and so receive other clients' tasks), a worker token cannot submit.
 * Services not named here (shared objects) take either role.
 */
public final class Authenticator implements ServerInterceptor {
    public enum Role { CLIENT, WORKER }

    /** The caller's role, for services that act on it. */
    public static final Context.Key<Role> ROLE = Context.key("cohort-role");

    private final byte[] clientToken;
    private final byte[] workerToken;

    public Authenticator(String clientToken, String workerToken) {
        this.clientToken = clientToken.getBytes(StandardCharsets.UTF_8);
        this.workerToken = workerToken.getBytes(StandardCharsets.UTF_8);
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
        if (!allowed(service, role)) {
            call.close(Status.PERMISSION_DENIED.withDescription("a " + role.name().toLowerCase()
                    + " token cannot call " + service), new Metadata());
            return new ServerCall.Listener<>() { };
        }
        return Contexts.interceptCall(Context.current().withValue(ROLE, role), call, headers, next);
    }

    private Role roleOf(String header) {
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
        return null;
    }

    private static boolean allowed(String service, Role role) {
        if (WorkerServiceGrpc.SERVICE_NAME.equals(service)) {
            return role == Role.WORKER;
        }
        if (ClientServiceGrpc.SERVICE_NAME.equals(service) || AdminServiceGrpc.SERVICE_NAME.equals(service)) {
            return role == Role.CLIENT;
        }
        return true;
    }
}
