package io.cohort.coordinator.internal;

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
import io.grpc.stub.StreamObserver;
import java.lang.management.ManagementFactory;
import java.util.List;

/** The gRPC services: each call only hands its messages to the {@link SchedulerLoop}. */
public final class Services {
    private Services() {}

    public static List<BindableService> all(SchedulerLoop loop) {
        return List.of(new Client(loop), new Worker(loop), new Admin(loop));
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
