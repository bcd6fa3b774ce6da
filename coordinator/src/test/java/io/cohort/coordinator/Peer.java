package io.cohort.coordinator;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;

/** One end of a bidirectional test stream: what it received, and how the stream ended. */
final class Peer<Req, Resp> implements StreamObserver<Resp> {
    static final long WAIT_SECONDS = 10;

    private final LinkedBlockingDeque<Resp> received = new LinkedBlockingDeque<>();
    final CompletableFuture<Status> ended = new CompletableFuture<>();
    final StreamObserver<Req> requests;

    Peer(Function<StreamObserver<Resp>, StreamObserver<Req>> call) {
        this.requests = call.apply(this);
    }

    Peer<Req, Resp> send(Req request) {
        requests.onNext(request);
        return this;
    }

    /** The next message, failing the test after a bounded wait. */
    Resp next() throws InterruptedException {
        Resp r = received.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(r, "no message within " + WAIT_SECONDS + " s; stream ended: " + ended.getNow(null));
        return r;
    }

    /** Puts a message back to be read first again. */
    void unread(Resp message) {
        received.addFirst(message);
    }

    /** Skips messages until one matches. */
    Resp nextMatching(Predicate<Resp> which) throws InterruptedException {
        while (true) {
            Resp r = next();
            if (which.test(r)) {
                return r;
            }
        }
    }

    Status awaitEnd() throws Exception {
        return ended.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public void onNext(Resp value) {
        received.add(value);
    }

    @Override
    public void onError(Throwable t) {
        ended.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
        ended.complete(Status.OK);
    }
}
