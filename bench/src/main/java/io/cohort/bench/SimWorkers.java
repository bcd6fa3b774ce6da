package io.cohort.bench;

import io.cohort.common.Codec;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * S2's simulated workers, in a JVM of their own: {@code count} attachments of {@code slots}
 * slots each, every one with its own ManagedChannel and Attach stream (the raw WorkerService
 * stub). Each answers every assign at once with SUCCEEDED and what W1's function ({@code x -> x + 1})
 * returns for its argument, without loading the function: the figure is the coordinator's and
 * the client's cost, not task work, and the client can still check every result. Prints
 * "attached N" once every stream is open, then runs until its stdin closes or it is killed.
 *
 * <p>Usage: {@code SimWorkers TARGET COUNT SLOTS}
 */
public final class SimWorkers {
    private static final Codec CODEC = Codec.standard();
    private static final long HEARTBEAT_MS = 2_000;

    private SimWorkers() {
    }

    public static void main(String[] args) throws Exception {
        String target = args[0];
        int count = Integer.parseInt(args[1]);
        int slots = Integer.parseInt(args[2]);
        List<ManagedChannel> channels = new ArrayList<>(count);
        List<Sim> sims = new ArrayList<>(count);
        CountDownLatch welcomed = new CountDownLatch(count);
        ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sim-heartbeats");
            t.setDaemon(true);
            return t;
        });
        try {
            for (int i = 0; i < count; i++) {
                ManagedChannel ch = ManagedChannelBuilder.forTarget(target).usePlaintext().directExecutor()
                        .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).build();
                channels.add(ch);
                Sim sim = new Sim(welcomed);
                sim.out = WorkerServiceGrpc.newStub(ch).attach(sim);
                sim.send(AttachRequest.newBuilder().setHello(WorkerHello.newBuilder()
                        .setProtocolVersion(Protocol.VERSION).setWorkerId("sim-" + i).setHost("sim")
                        .setPid(ProcessHandle.current().pid()).setSlots(slots).setPrefetch(slots)
                        .setHeartbeatIntervalMs((int) HEARTBEAT_MS)).build());
                sims.add(sim);
            }
            if (!welcomed.await(120, TimeUnit.SECONDS)) {
                throw new IllegalStateException("only " + (count - welcomed.getCount()) + " of " + count + " welcomed");
            }
            heartbeats.scheduleAtFixedRate(() -> sims.forEach(s -> s.send(AttachRequest.getDefaultInstance())),
                    HEARTBEAT_MS, HEARTBEAT_MS, TimeUnit.MILLISECONDS);
            System.out.println("attached " + count);
            System.out.flush();
            while (System.in.read() >= 0) {
                // the parent closes our stdin (or kills us) when the run is over
            }
        } finally {
            heartbeats.shutdownNow();
            for (Sim s : sims) {
                s.finish();
            }
            for (ManagedChannel ch : channels) {
                ch.shutdownNow();
            }
        }
    }

    /** One attachment: answers each batch of assigns with one batch of results. */
    private static final class Sim implements StreamObserver<AttachResponse> {
        private final CountDownLatch welcomed;
        StreamObserver<AttachRequest> out;   // guarded by this

        Sim(CountDownLatch welcomed) {
            this.welcomed = welcomed;
        }

        synchronized void send(AttachRequest r) {
            out.onNext(r);   // serialized: gRPC streams take one writer at a time
        }

        synchronized void finish() {
            out.onCompleted();
        }

        @Override
        public void onNext(AttachResponse r) {
            if (r.hasWelcome()) {
                welcomed.countDown();
            }
            List<TaskAssign> assigns = io.cohort.common.ColumnBatches.assigns(r);
            if (assigns.isEmpty()) {
                return;
            }
            // Answered in columns, as a real worker answers: the same work for the coordinator.
            AttachRequest.Builder b = AttachRequest.newBuilder();
            io.cohort.proto.v1.ValueColumns.Builder values = io.cohort.proto.v1.ValueColumns.newBuilder();
            io.cohort.common.Columns.Blob blob = new io.cohort.common.Columns.Blob();
            for (TaskAssign a : assigns) {
                ByteString value = plusOne(a.getSpec().getArgument());
                values.addTaskKeys(a.getTaskKey()).addAttempts(a.getAttempt()).addRunNanos(0)
                        .addValueEnds(blob.append(value)).addFlags(io.cohort.common.Columns.PRESENT);
            }
            b.setValueColumns(values.setValues(blob.build()));
            send(b.build());
        }

        private static ByteString plusOne(ByteString argument) {
            return CODEC.encode((Long) CODEC.decode(argument, SimWorkers.class.getClassLoader()) + 1);
        }

        @Override
        public void onError(Throwable t) {
            System.err.println("sim worker: stream failed: " + t);
        }

        @Override
        public void onCompleted() {
            // the coordinator ended the stream: nothing to do
        }
    }
}
