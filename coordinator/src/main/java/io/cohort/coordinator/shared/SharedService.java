package io.cohort.coordinator.shared;

import io.cohort.coordinator.server.Authenticator;
import io.cohort.proto.v1.SharedAbandonRequest;
import io.cohort.proto.v1.SharedAbandonResponse;
import io.cohort.proto.v1.SharedCallRequest;
import io.cohort.proto.v1.SharedCallResponse;
import io.cohort.proto.v1.SharedOpenRequest;
import io.cohort.proto.v1.SharedOpenResponse;
import io.cohort.proto.v1.SharedServiceGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * The gRPC face of a {@link SharedStore}. Handlers never block: a call that must wait is parked
 * in the store and answered later from whichever thread frees it.
 */
public final class SharedService extends SharedServiceGrpc.SharedServiceImplBase {
    private final SharedStore store;
    private final SharedAccess access;

    public SharedService(SharedStore store, SharedAccess access) {
        this.store = store;
        this.access = access;
    }

    @Override
    public void open(SharedOpenRequest request, StreamObserver<SharedOpenResponse> response) {
        SharedOpenResponse answer;
        Authenticator.Role role = Authenticator.ROLE.get();
        try {
            answer = store.open(request, () -> access.refusal(request.getSessionId(), request.getHolder(), role));
        } catch (StatusRuntimeException e) {
            response.onError(e);
            return;
        }
        response.onNext(answer);
        response.onCompleted();
    }

    @Override
    public void call(SharedCallRequest request, StreamObserver<SharedCallResponse> response) {
        Status refused = access.refusal(request.getSessionId(), request.getHolder(), Authenticator.ROLE.get());
        if (refused != null) {
            response.onError(refused.asRuntimeException());
            return;
        }
        ServerCallStreamObserver<SharedCallResponse> call = (ServerCallStreamObserver<SharedCallResponse>) response;
        CallReply reply = new CallReply(call);
        // Set before the call can park: a cancel that comes first is seen by isCancelled.
        call.setOnCancelHandler(reply::cancelled);
        reply.parked = store.call(request, reply);
        if (reply.cancelled && reply.parked != null) {
            store.cancel(reply.parked);
        }
    }

    @Override
    public void abandon(SharedAbandonRequest request, StreamObserver<SharedAbandonResponse> response) {
        Status refused = access.refusal(request.getSessionId(), null, Authenticator.ROLE.get());
        if (refused != null) {
            response.onError(refused.asRuntimeException());
            return;
        }
        store.abandon(request.getSessionId(), request.getObjectId(), request.getRequestId());
        response.onNext(SharedAbandonResponse.getDefaultInstance());
        response.onCompleted();
    }

    private final class CallReply implements Reply {
        private final ServerCallStreamObserver<SharedCallResponse> call;
        volatile SharedStore.Waiter parked;
        volatile boolean cancelled;

        CallReply(ServerCallStreamObserver<SharedCallResponse> call) {
            this.call = call;
        }

        void cancelled() {
            cancelled = true;
            SharedStore.Waiter w = parked;
            if (w != null) {
                store.cancel(w);
            }
        }

        @Override
        public void answer(SharedCallResponse r) {
            if (!cancelled) {
                call.onNext(r);
                call.onCompleted();
            }
        }

        @Override
        public void fail(Status status) {
            if (!cancelled) {
                call.onError(status.asRuntimeException());
            }
        }

        @Override
        public boolean isCancelled() {
            return cancelled || call.isCancelled();
        }
    }
}
