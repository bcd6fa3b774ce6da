package io.cohort.coordinator.server;

import io.cohort.common.AliasingParse;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.DrainRequest;
import io.cohort.proto.v1.DrainResponse;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.StatusRequest;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import java.lang.management.ManagementFactory;
import java.util.List;

/** The gRPC services: each call only hands its messages to the {@link SchedulerLoop}. */
public final class Services {
    private Services() {}

    public static List<ServerServiceDefinition> all(SchedulerLoop loop) {
        return List.of(parsedByTheLoop(new Client(loop)), parsedByTheLoop(new Worker(loop)), UndecodableRequests.refused(new Admin(loop).bindService()));
    }

    /** A request frame that does not decode; the scheduler thread closes its stream with INVALID_ARGUMENT. */
    record Malformed(String problem) {}

    /**
     * The service with request parsing that never throws: a frame that does not decode is
     * handed on as {@link Malformed}. Left to gRPC, a decoding failure ends the call with
     * UNKNOWN from a transport thread while the scheduler thread may be writing to the same
     * call, and the peer can receive headers after the trailers (found by CoordinatorFuzzTest:
     * the peer's client then tears down its whole connection).
     */
    private static ServerServiceDefinition parsedByTheLoop(BindableService service) {
        ServerServiceDefinition typed = service.bindService();
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(typed.getServiceDescriptor().getName());
        for (ServerMethodDefinition<?, ?> m : typed.getMethods()) {
            b.addMethod(lenient(m));
        }
        return b.build();
    }

    @SuppressWarnings("unchecked")
    private static <Q, A> ServerMethodDefinition<Object, A> lenient(ServerMethodDefinition<Q, A> m) {
        MethodDescriptor<Q, A> typed = m.getMethodDescriptor();
        MethodDescriptor.Marshaller<Object> lenient = UndecodableRequests.lenient(aliasing(typed.getRequestMarshaller()),
                Malformed::new);
        // The handler's stream observer (SchedulerLoop.open) takes whatever it is given as an Object.
        return ServerMethodDefinition.create(typed.toBuilder(lenient, typed.getResponseMarshaller()).build(),
                (ServerCallHandler<Object, A>) (ServerCallHandler<?, A>) m.getServerCallHandler());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static <Q> MethodDescriptor.Marshaller<Q> aliasing(MethodDescriptor.Marshaller<Q> m) {
        return (MethodDescriptor.Marshaller<Q>) AliasingParse.marshaller((MethodDescriptor.Marshaller) m);
    }

    private static final class Client extends ClientServiceGrpc.ClientServiceImplBase {
        private final SchedulerLoop loop;

        Client(SchedulerLoop loop) {
            this.loop = loop;
        }

        @Override
        public StreamObserver<SessionRequest> session(StreamObserver<SessionResponse> responses) {
            return loop.open(Conn.Kind.CLIENT, responses);
        }
    }

    private static final class Worker extends WorkerServiceGrpc.WorkerServiceImplBase {
        private final SchedulerLoop loop;

        Worker(SchedulerLoop loop) {
            this.loop = loop;
        }

        @Override
        public StreamObserver<AttachRequest> attach(StreamObserver<AttachResponse> responses) {
            return loop.open(Conn.Kind.WORKER, responses);
        }
    }

    private static final class Admin extends AdminServiceGrpc.AdminServiceImplBase {
        private final SchedulerLoop loop;

        Admin(SchedulerLoop loop) {
            this.loop = loop;
        }

        @Override
        public void status(StatusRequest request, StreamObserver<StatusResponse> response) {
            if (!request.getMeasureHeap()) {
                loop.status(response);
                return;
            }
            Authenticator.Role role = Authenticator.ROLE.get();
            if (role != null && role != Authenticator.Role.ADMIN) {
                // A full GC pauses every stream: only the admin may ask for one (no role: a coordinator without tokens).
                response.onError(io.grpc.Status.PERMISSION_DENIED.withDescription("a " + role.name().toLowerCase(
                        java.util.Locale.ROOT) + " token cannot ask for heap measurements (measure_heap):"
                        + " it takes the admin token").asRuntimeException());
                return;
            }
            System.gc();   // asked for: so the figure is live data, not garbage not yet collected
            long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            loop.status(new StreamObserver<>() {
                @Override
                public void onNext(StatusResponse status) {
                    response.onNext(status.toBuilder().setHeapUsedAfterGcBytes(used).build());
                }

                @Override
                public void onError(Throwable t) {
                    response.onError(t);
                }

                @Override
                public void onCompleted() {
                    response.onCompleted();
                }
            });
        }

        @Override
        public void drain(DrainRequest request, StreamObserver<DrainResponse> response) {
            loop.drain(request.getWorkerId(), response);
        }
    }
}
