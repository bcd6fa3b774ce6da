package io.cohort.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.ColumnBatches;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.TaskSubmit;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerTaskStarted;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A well-behaved client and worker beside the hostile peers of the fuzz tests: the worker
 * (id "good", label {@value #TRUSTED}) answers every assign at once with "ok:" and the
 * argument; the client submits tasks only it can run and checks that each completes exactly
 * once with its own result. Not thread-safe: one test thread drives it.
 */
final class GoodPair implements AutoCloseable {
    static final String TRUSTED = "trusted";

    final Peer<SessionRequest, SessionResponse> client;
    final Peer<AttachRequest, AttachResponse> worker;
    private final Map<Long, ByteString> arguments = new ConcurrentHashMap<>();
    private final Set<Long> done = ConcurrentHashMap.newKeySet();
    private long nextTask = 1;

    /** Attaches the worker on {@code workerChannel}, then opens the client's session on {@code clientChannel}. */
    GoodPair(Channel clientChannel, Channel workerChannel) throws InterruptedException {
        worker = new Peer<>(responses -> WorkerServiceGrpc.newStub(workerChannel).attach(new EchoWorker(responses)));
        worker.send(AttachRequest.newBuilder().setHello(WorkerHello.newBuilder().setProtocolVersion(Protocol.VERSION)
                .setWorkerId("good").setSlots(4).setPrefetch(4).addLabels(TRUSTED)).build());
        assertEquals("good", worker.next().getWelcome().getWorkerId());
        client = new Peer<>(ClientServiceGrpc.newStub(clientChannel)::session);
        client.send(SessionRequest.newBuilder().setHello(ClientHello.newBuilder()
                .setProtocolVersion(Protocol.VERSION).setClientName("good")).build());
        assertTrue(client.next().hasWelcome());
    }

    /** Submits {@code tasks} tasks with random arguments, in one message. */
    void submit(Random r, int tasks) {
        SessionRequest.Builder batch = SessionRequest.newBuilder();
        for (int i = 0; i < tasks; i++) {
            long id = nextTask++;
            byte[] arg = new byte[r.nextInt(32)];
            r.nextBytes(arg);
            arguments.put(id, ByteString.copyFrom(arg));
            batch.addSubmits(TaskSubmit.newBuilder().setTaskId(id)
                    .setSpec(TaskSpec.newBuilder().setBody(ByteString.copyFromUtf8("good")).setArgument(ByteString.copyFrom(arg)))
                    .setPolicy(TaskPolicy.newBuilder().addLabels(TRUSTED).setName("good-" + id)));
        }
        client.send(batch.build());
    }

    /** Reads results until every submitted task has one; a result twice, or wrong, fails. */
    void awaitAll() throws InterruptedException {
        while (done.size() < nextTask - 1) {
            for (TaskResult res : ColumnBatches.results(client.next())) {
                ByteString arg = arguments.get(res.getTaskId());
                assertNotNull(arg, "result for a task the good client never submitted: " + res);
                assertTrue(done.add(res.getTaskId()), "second result for good task " + res.getTaskId());
                assertEquals(TaskStatus.SUCCEEDED, res.getStatus(), () -> "good task failed: " + res);
                assertEquals(ByteString.copyFromUtf8("ok:").concat(arg), res.getValue(), "good task's value");
                assertEquals("good", res.getWorkerId());
            }
        }
    }

    /** Tasks completed so far. */
    int completed() {
        return done.size();
    }

    /** Fails if either stream has ended. */
    void assertStreamsOpen() {
        assertNull(client.ended.getNow(null), "the good client's stream ended");
        assertNull(worker.ended.getNow(null), "the good worker's stream ended");
    }

    @Override
    public void close() {
        client.requests.onCompleted();
        worker.requests.onCompleted();
    }

    /** Answers assigns on the gRPC callback thread (the only thread that writes after the hello). */
    private final class EchoWorker implements StreamObserver<AttachResponse> {
        private final StreamObserver<AttachResponse> recorder;

        EchoWorker(StreamObserver<AttachResponse> recorder) {
            this.recorder = recorder;
        }

        @Override
        public void onNext(AttachResponse r) {
            if (!ColumnBatches.assigns(r).isEmpty()) {
                AttachRequest.Builder reply = AttachRequest.newBuilder();
                for (TaskAssign a : ColumnBatches.assigns(r)) {
                    reply.addStarted(WorkerTaskStarted.newBuilder().setTaskKey(a.getTaskKey()).setAttempt(a.getAttempt()));
                    reply.addResults(WorkerTaskResult.newBuilder().setTaskKey(a.getTaskKey()).setAttempt(a.getAttempt())
                            .setStatus(TaskStatus.SUCCEEDED)
                            .setValue(ByteString.copyFromUtf8("ok:").concat(a.getSpec().getArgument())));
                }
                synchronized (GoodPair.this) {
                    worker.requests.onNext(reply.build());
                }
            }
            recorder.onNext(r);
        }

        @Override
        public void onError(Throwable t) {
            recorder.onError(t);
        }

        @Override
        public void onCompleted() {
            recorder.onCompleted();
        }
    }
}
