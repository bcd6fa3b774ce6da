package io.cohort.client;

import io.cohort.common.Protocol;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.ClientWelcome;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The session's stream to the coordinator: opened with a {@link #hello}, watched, and opened
 * again after a loss for up to the reconnect time, asking the coordinator to resume the
 * session. What arrives on the current stream goes to the {@link Listener}; what is sent goes
 * through its {@link BatchWriter}. Thread-safe.
 */
final class SessionStream {
    private static final System.Logger LOG = System.getLogger(Session.class.getName());

    /** Results parsed with their values pointing into the message's buffer, not copied out again. */
    private static final io.grpc.MethodDescriptor<SessionRequest, SessionResponse> SESSION_METHOD =
            io.cohort.common.AliasingParse.of(ClientServiceGrpc.getSessionMethod());

    /** Hears what the stream brings. Called on transport threads (or the reconnect timer): must not block. */
    interface Listener {
        /** A message on the current stream (never one on a stream a reconnect replaced). */
        void received(SessionResponse response, Call from);

        /**
         * A new stream was welcomed after a loss: queue on {@link #writer} what it must carry, and
         * call {@link #welcomed} (nothing but the hello is written before).
         */
        void reopened(ClientWelcome welcome);

        /** The session is over for good (no reconnect, or it failed): {@code why}. */
        void ended(Throwable why);
    }

    private final String target;
    private final ManagedChannel channel;
    private final String clientName;
    /** How long a lost stream is retried before the session ends; 0: not at all. */
    private final long reconnectMillis;
    private final BatchWriter writer;
    private final Listener listener;
    /** The stream in use, or being opened. */
    private volatile Call current;
    /** The id of the session last welcomed; a reconnect asks to resume it. Null before the first welcome. */
    private volatile String sessionId;
    /** Unanswered tasks the coordinator allows this session (its first welcome); 0: it named no bound. */
    private volatile int coordinatorMaxTasks;
    private volatile long coordinatorMaxTaskBytes;
    /** False while the current stream waits for its welcome: nothing but the hello may be written. */
    private volatile boolean connected;
    private volatile Throwable ended;
    private volatile boolean closeRequested;

    SessionStream(String target, ManagedChannel channel, String clientName, long reconnectMillis, Listener listener) {
        this.target = target;
        this.channel = channel;
        this.clientName = clientName;
        this.reconnectMillis = reconnectMillis;
        this.listener = listener;
        this.writer = new BatchWriter(this);
    }

    /**
     * Opens the first stream and waits for the coordinator's welcome, at most {@code
     * timeoutMillis}; on failure the channel is shut down and a {@link CohortException} says why.
     */
    void connect(long timeoutMillis) {
        Call first = startStream();
        try {
            ClientWelcome w = first.welcome.get(timeoutMillis, TimeUnit.MILLISECONDS);
            if (w.getProtocolVersion() != Protocol.VERSION) {
                throw new CohortException("coordinator at " + target + " speaks protocol version "
                        + w.getProtocolVersion() + "; this client speaks " + Protocol.VERSION);
            }
            coordinatorMaxTasks = w.getMaxTasksInFlight();
            coordinatorMaxTaskBytes = w.getMaxTaskBytesInFlight();
            welcomed(w);
        } catch (TimeoutException e) {
            abort();
            throw new CohortException("no answer from a coordinator at " + target + " within "
                    + timeoutMillis + " ms");
        } catch (ExecutionException e) {
            abort();
            throw new CohortException("cannot connect to a coordinator at " + target + ": "
                    + describe(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort();
            throw new CohortException("interrupted while connecting to " + target, e);
        }
    }

    /** The handshake: the first message of every stream, which names the session to resume, if any. */
    private SessionRequest hello() {
        ClientHello.Builder hello = ClientHello.newBuilder().setProtocolVersion(Protocol.VERSION).setClientName(clientName);
        if (sessionId != null) {
            hello.setResumeSessionId(sessionId);
        }
        return SessionRequest.newBuilder().setHello(hello).build();
    }

    /** The current stream was welcomed: it carries the session from now on. */
    void welcomed(ClientWelcome w) {
        sessionId = w.getSessionId();
        connected = true;
    }

    /** Opens a stream and says hello on it; the welcome completes its {@code welcome}. */
    private Call startStream() {
        Call in = new Call();
        connected = false;
        current = in;
        io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
                channel.newCall(SESSION_METHOD, io.grpc.CallOptions.DEFAULT.withOnReadyThreshold(1)), in);
        in.stream.onNext(hello());
        return in;
    }

    private static boolean reconnectable(Throwable t) {
        if (t instanceof CohortException) {
            return true;   // the coordinator ended the stream cleanly, e.g. on its way down
        }
        return switch (Status.fromThrowable(t).getCode()) {
            // Trying again cannot help: wrong credentials, version or messages.
            case UNAUTHENTICATED, PERMISSION_DENIED, FAILED_PRECONDITION, INVALID_ARGUMENT, UNIMPLEMENTED -> false;
            default -> true;
        };
    }

    private void scheduleReconnect(long deadlineNanos, long delayMillis, Throwable cause) {
        CompletableFuture.delayedExecutor(delayMillis, TimeUnit.MILLISECONDS)
                .execute(() -> reconnect(deadlineNanos, delayMillis, cause));
    }

    private void reconnect(long deadlineNanos, long delayMillis, Throwable cause) {
        if (closeRequested || ended != null) {
            return;
        }
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            giveUp(cause);
            return;
        }
        Call in = startStream();
        in.welcome.orTimeout(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 5_000), TimeUnit.MILLISECONDS)
                .whenComplete((w, error) -> {
                    if (error == null && w.getProtocolVersion() == Protocol.VERSION) {
                        listener.reopened(w);
                        return;
                    }
                    Throwable why = error == null
                            ? new CohortException("the coordinator now speaks protocol version " + w.getProtocolVersion())
                            : error instanceof java.util.concurrent.CompletionException ? error.getCause() : error;
                    in.stream.cancel("reconnect attempt failed", null);
                    if (error != null && !(why instanceof TimeoutException) && !reconnectable(why)) {
                        giveUp(why);
                    } else {
                        scheduleReconnect(deadlineNanos, Math.min(delayMillis * 2, 2_000), why);
                    }
                });
    }

    private void giveUp(Throwable cause) {
        CohortException t = new CohortException("lost the session with the coordinator at " + target
                + " and could not reconnect within " + reconnectMillis + " ms: " + describe(cause), cause);
        ended = t;
        listener.ended(t);
    }

    /** Half-closes the stream once what is queued has been written; the session then ends. */
    void requestClose() {
        closeRequested = true;
        writer.drain();
    }

    void abort() {
        channel.shutdownNow();
    }

    BatchWriter writer() {
        return writer;
    }

    String target() {
        return target;
    }

    /** The session's id once the current stream is welcomed (waits for that). */
    String sessionId() {
        return current.welcome.join().getSessionId();
    }

    /** The id last welcomed, while the stream is up (read under the session's lock on a resume). */
    String lastSessionId() {
        return sessionId;
    }

    int coordinatorMaxTasks() {
        return coordinatorMaxTasks;
    }

    long coordinatorMaxTaskBytes() {
        return coordinatorMaxTaskBytes;
    }

    /** Whether the current stream was welcomed (only then is more than the hello written). */
    boolean connected() {
        return connected;
    }

    boolean closeRequested() {
        return closeRequested;
    }

    /** Why the session ended for good, or null while it lives. */
    Throwable ended() {
        return ended;
    }

    Call current() {
        return current;
    }

    static String describe(Throwable t) {
        Status s = Status.fromThrowable(t);
        return s.getCode() == Status.Code.UNKNOWN ? String.valueOf(t)
                : s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }

    /** One stream of the session: the first, or one opened by a reconnect. Runs on transport threads. */
    final class Call implements ClientResponseObserver<SessionRequest, SessionResponse> {
        final CompletableFuture<ClientWelcome> welcome = new CompletableFuture<>();
        volatile ClientCallStreamObserver<SessionRequest> stream;
        boolean halfClosed;   // only touched by the writer's drainer

        @Override
        public void beforeStart(ClientCallStreamObserver<SessionRequest> stream) {
            this.stream = stream;
            stream.setOnReadyHandler(writer::drain);
        }

        @Override
        public void onNext(SessionResponse response) {
            if (response.hasWelcome()) {
                welcome.complete(response.getWelcome());
            }
            if (this != current) {
                return;   // a stream replaced by a reconnect
            }
            listener.received(response, this);
        }

        /** Ends this stream for a message that cannot be read: onError follows. */
        void cancel(String why, Throwable cause) {
            stream.cancel(why, cause);
        }

        @Override
        public void onError(Throwable t) {
            end(t);
        }

        @Override
        public void onCompleted() {
            end(new CohortException("the coordinator at " + target + " ended the session"));
        }

        private void end(Throwable t) {
            boolean wasWelcomed = welcome.isDone() && !welcome.isCompletedExceptionally();
            welcome.completeExceptionally(t);
            if (this != current || !wasWelcomed) {
                return;   // replaced, or never opened: connect() or reconnect() decides what follows
            }
            if (!closeRequested && reconnectMillis > 0 && reconnectable(t)) {
                LOG.log(System.Logger.Level.WARNING, "session with " + target + " lost (" + describe(t)
                        + "); reconnecting for up to " + reconnectMillis + " ms");
                connected = false;
                scheduleReconnect(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(reconnectMillis), 50, t);
                return;
            }
            ended = t;
            if (!closeRequested) {
                LOG.log(System.Logger.Level.WARNING, "session with " + target + " ended: " + describe(t));
            }
            listener.ended(t);
        }
    }
}
