package io.cohort.client;

import io.cohort.common.ColumnBatches;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A worker that speaks the protocol but not the truth: it attaches over a real socket, collects
 * assigns until it holds {@code batch} of them, then answers them all in one message with what
 * {@code answer} makes of them (anything a broken or hostile worker could send).
 */
final class HostileWorker implements StreamObserver<AttachResponse>, AutoCloseable {
    private final ManagedChannel channel;
    private final int batch;
    private final Function<List<TaskAssign>, AttachRequest> answer;
    private final List<TaskAssign> held = new ArrayList<>();   // guarded by this
    private final CompletableFuture<Void> welcomed = new CompletableFuture<>();
    private StreamObserver<AttachRequest> out;                 // guarded by this

    HostileWorker(String target, String id, int slots, int batch, Function<List<TaskAssign>, AttachRequest> answer)
            throws Exception {
        this.batch = batch;
        this.answer = answer;
        String[] hostPort = target.split(":");
        channel = NettyChannelBuilder.forAddress(hostPort[0], Integer.parseInt(hostPort[1])).usePlaintext()
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).build();
        synchronized (this) {
            out = WorkerServiceGrpc.newStub(channel).attach(this);
            out.onNext(AttachRequest.newBuilder().setHello(WorkerHello.newBuilder().setProtocolVersion(Protocol.VERSION)
                    .setWorkerId(id).setHost("hostile").setPid(ProcessHandle.current().pid()).setSlots(slots)
                    .setPrefetch(slots).setHeartbeatIntervalMs(60_000)).build());
        }
        welcomed.get(30, TimeUnit.SECONDS);
    }

    @Override
    public void onNext(AttachResponse r) {
        if (r.hasWelcome()) {
            welcomed.complete(null);
        }
        List<TaskAssign> answerNow = null;
        synchronized (this) {
            held.addAll(ColumnBatches.assigns(r));
            if (held.size() >= batch) {
                answerNow = List.copyOf(held);
                held.clear();
            }
        }
        if (answerNow != null) {
            AttachRequest reply = answer.apply(answerNow);
            synchronized (this) {
                out.onNext(reply);
            }
        }
    }

    @Override
    public void onError(Throwable t) {
        welcomed.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
        welcomed.completeExceptionally(new IllegalStateException("the coordinator ended the stream"));
    }

    @Override
    public void close() throws InterruptedException {
        synchronized (this) {
            out.onCompleted();
        }
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
}
