package io.cohort.coordinator.server;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.io.InputStream;
import java.util.function.Function;

/**
 * A call of one request (unary or server-streaming) whose request does not decode ends with
 * INVALID_ARGUMENT naming the problem. Left to gRPC it ends with UNKNOWN ("Application error
 * processing RPC"), which says nothing of the caller's fault (found by SharedObjectFuzzTest).
 * Only calls of one request: their handler has written nothing when that request arrives, so
 * closing the call here races with no other writer. (Streams the scheduler serves have their
 * own, in {@link Services}.)
 */
public final class UndecodableRequests {
    private UndecodableRequests() {}

    /** A request that did not decode, handed to the call's listener in its place. */
    private record Undecodable(String problem) {}

    /** {@code service} with its one-request methods refusing requests that do not decode. */
    public static ServerServiceDefinition refused(ServerServiceDefinition service) {
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(service.getServiceDescriptor().getName());
        for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
            if (m.getMethodDescriptor().getType().clientSendsOneMessage()) {
                b.addMethod(refusing(m));
            } else {
                b.addMethod(m);
            }
        }
        return b.build();
    }

    /**
     * {@code strict}, except that a request that does not decode parses as what
     * {@code undecodable} makes of the problem, instead of throwing.
     */
    @SuppressWarnings("unchecked")
    static <Q> MethodDescriptor.Marshaller<Object> lenient(MethodDescriptor.Marshaller<Q> strict,
                                                           Function<String, Object> undecodable) {
        return new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(Object value) {
                return strict.stream((Q) value);
            }

            @Override
            public Object parse(InputStream in) {
                try {
                    return strict.parse(in);
                } catch (RuntimeException e) {
                    Throwable cause = e.getCause() == null ? e : e.getCause();
                    return undecodable.apply("a message that does not decode: " + cause.getMessage());
                }
            }
        };
    }

    @SuppressWarnings("unchecked")
    private static <Q, A> ServerMethodDefinition<Object, A> refusing(ServerMethodDefinition<Q, A> m) {
        MethodDescriptor<Q, A> typed = m.getMethodDescriptor();
        MethodDescriptor.Marshaller<Object> lenient = lenient(typed.getRequestMarshaller(), Undecodable::new);
        ServerCallHandler<Object, A> inner = (ServerCallHandler<Object, A>) (ServerCallHandler<?, A>) m.getServerCallHandler();
        ServerCallHandler<Object, A> handler = (call, headers) -> new Refusing<>(inner.startCall(call, headers), call);
        return ServerMethodDefinition.create(typed.toBuilder(lenient, typed.getResponseMarshaller()).build(), handler);
    }

    /** Passes a decoded request on; closes the call at one that did not decode, and passes nothing more. */
    private static final class Refusing<A> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Object> {
        private final ServerCall<Object, A> call;
        private boolean refused;

        Refusing(ServerCall.Listener<Object> delegate, ServerCall<Object, A> call) {
            super(delegate);
            this.call = call;
        }

        @Override
        public void onMessage(Object message) {
            if (refused) {
                return;
            }
            if (message instanceof Undecodable u) {
                refused = true;
                call.close(Status.INVALID_ARGUMENT.withDescription(u.problem()), new Metadata());
                return;
            }
            super.onMessage(message);
        }

        @Override
        public void onHalfClose() {
            if (!refused) {
                super.onHalfClose();
            }
        }

        @Override
        public void onReady() {
            if (!refused) {
                super.onReady();
            }
        }
    }
}
