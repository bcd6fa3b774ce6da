package io.cohort.common;

import io.grpc.stub.CallStreamObserver;
import java.util.Iterator;

/**
 * Sends a sequence of messages on a stream as fast as its flow control allows, then completes
 * it: each onReady sends while the stream is ready (gRPC may call it when nothing changed, so
 * it re-checks). The source is read on whichever thread runs the onReady handler.
 */
public final class ChunkPump<T> implements Runnable {
    private final CallStreamObserver<T> out;
    private final Iterator<T> source;
    private boolean done;   // guarded by this

    private ChunkPump(CallStreamObserver<T> out, Iterator<T> source) {
        this.out = out;
        this.source = source;
    }

    /** Installs the pump as {@code out}'s onReady handler (for a client call: in beforeStart). */
    public static <T> ChunkPump<T> install(CallStreamObserver<T> out, Iterator<T> source) {
        ChunkPump<T> pump = new ChunkPump<>(out, source);
        out.setOnReadyHandler(pump);
        return pump;
    }

    @Override
    public synchronized void run() {
        if (done) {
            return;
        }
        try {
            while (out.isReady() && source.hasNext()) {
                out.onNext(source.next());
            }
            if (!source.hasNext()) {
                done = true;
                out.onCompleted();
            }
        } catch (RuntimeException e) {
            done = true;
            try {
                out.onError(io.grpc.Status.INTERNAL.withDescription("cannot read what is sent: " + e).asRuntimeException());
            } catch (RuntimeException alreadyOver) {
                // the call was cancelled meanwhile: nobody is listening
            }
        }
    }
}
