package io.cohort.worker;

import static org.junit.jupiter.api.Assertions.fail;

import io.cohort.common.ColumnBatches;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerTaskStarted;
import io.cohort.proto.v1.WorkerWelcome;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A scripted coordinator on an in-process server: tests read what a worker sends and answer by hand. */
final class FakeCoordinator implements AutoCloseable {
    static final long WAIT_MS = 30_000;   // child JVMs start slowly on a loaded machine

    /** Items other than protos that a stream records. */
    enum Mark { DRAINING, EMPTY, WORKER_COMPLETED, WORKER_CANCELLED }

    private final String name = "fake-coordinator-" + UUID.randomUUID();
    private final Server server;
    final ManagedChannel channel;
    private final LinkedBlockingQueue<Stream> streams = new LinkedBlockingQueue<>();

    FakeCoordinator() throws IOException {
        this(false);
    }

    /** With {@code tcp}, listens on a loopback port (see {@link #port()}) instead of in-process. */
    FakeCoordinator(boolean tcp) throws IOException {
        io.grpc.ServerBuilder<?> builder = tcp
                ? io.grpc.Grpc.newServerBuilderForPort(0, io.grpc.InsecureServerCredentials.create())
                : InProcessServerBuilder.forName(name);
        server = builder
                .addService(new WorkerServiceGrpc.WorkerServiceImplBase() {
                    @Override
                    public StreamObserver<AttachRequest> attach(StreamObserver<AttachResponse> out) {
                        Stream s = new Stream(out);
                        streams.add(s);
                        return s;
                    }
                })
                .build().start();
        channel = InProcessChannelBuilder.forName(name).build();
    }

    int port() {
        return server.getPort();
    }

    /** The next stream a worker opens. */
    Stream nextStream() throws InterruptedException {
        Stream s = streams.poll(WAIT_MS, TimeUnit.MILLISECONDS);
        if (s == null) {
            fail("no worker attached within " + WAIT_MS + " ms");
        }
        return s;
    }

    /** The next stream, welcomed with {@code workerId}. */
    Stream attach(String workerId) throws InterruptedException {
        Stream s = nextStream();
        s.hello();
        s.welcome(workerId, 30_000);
        return s;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    /** One worker stream: records every item received, in order. */
    static final class Stream implements StreamObserver<AttachRequest> {
        private final StreamObserver<AttachResponse> out;
        private final List<Object> items = new ArrayList<>();   // guarded by this
        private int messages;   // guarded by this

        Stream(StreamObserver<AttachResponse> out) {
            this.out = out;
        }

        @Override
        public synchronized void onNext(AttachRequest r) {
            messages++;
            if (r.hasHello()) {
                items.add(r.getHello());
            }
            items.addAll(ColumnBatches.started(r));
            items.addAll(ColumnBatches.workerResults(r));
            items.addAll(r.getProcessOutputList());
            if (r.getDraining()) {
                items.add(Mark.DRAINING);
            }
            if (r.getSerializedSize() == 0) {
                items.add(Mark.EMPTY);
            }
            notifyAll();
        }

        @Override
        public synchronized void onError(Throwable t) {
            items.add(Mark.WORKER_CANCELLED);
            notifyAll();
        }

        @Override
        public synchronized void onCompleted() {
            items.add(Mark.WORKER_COMPLETED);
            notifyAll();
            out.onCompleted();   // as the coordinator does when a drained worker half-closes
        }

        void send(AttachResponse response) {
            synchronized (out) {
                out.onNext(response);
            }
        }

        void welcome(String workerId, int heartbeatTimeoutMs) {
            welcome(workerId, heartbeatTimeoutMs, Protocol.VERSION);
        }

        void welcome(String workerId, int heartbeatTimeoutMs, int version) {
            send(AttachResponse.newBuilder().setWelcome(WorkerWelcome.newBuilder()
                    .setProtocolVersion(version).setWorkerId(workerId).setHeartbeatTimeoutMs(heartbeatTimeoutMs)).build());
        }

        void fail(Status status) {
            synchronized (out) {
                out.onError(status.asRuntimeException());
            }
        }

        void complete() {
            synchronized (out) {
                out.onCompleted();
            }
        }

        WorkerHello hello() throws InterruptedException {
            return await(WorkerHello.class, h -> true);
        }

        WorkerTaskResult result(long key) throws InterruptedException {
            return await(WorkerTaskResult.class, r -> r.getTaskKey() == key);
        }

        WorkerTaskStarted started(long key) throws InterruptedException {
            return await(WorkerTaskStarted.class, s -> s.getTaskKey() == key);
        }

        void await(Mark mark) throws InterruptedException {
            await(Mark.class, m -> m == mark);
        }

        /** Waits for the first recorded item of that type that matches. */
        synchronized <T> T await(Class<T> type, Predicate<T> match) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (true) {
                for (Object o : items) {
                    if (type.isInstance(o) && match.test(type.cast(o))) {
                        return type.cast(o);
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    org.junit.jupiter.api.Assertions.fail("no matching " + type.getSimpleName() + " within "
                            + WAIT_MS + " ms; received " + items);
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }

        synchronized List<Object> items() {
            return new ArrayList<>(items);
        }

        synchronized int messages() {
            return messages;
        }
    }
}
