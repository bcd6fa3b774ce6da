package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.common.Codec;
import io.cohort.common.CodecException;
import io.cohort.common.Digests;
import io.cohort.common.Payloads;
import io.cohort.common.Protocol;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.ClientWelcome;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.ProcessOutput;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.TaskCancel;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskProcessOutput;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStarted;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.TaskSubmit;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One client session: the bidirectional stream to the coordinator, the futures it owes, and
 * the batching of what goes out.
 *
 * <p>Design notes. Outbound items (function definitions, submits, cancels) go into one FIFO
 * queue; whichever thread finds the writer idle drains everything queued into one message,
 * and only while the stream is ready, so submits that arrive while a write is pending
 * coalesce into the next batch (adaptive batching, no writer thread). Inbound results are
 * decoded and their futures completed on the callback executor, one hand-off per message,
 * so user code never runs on a transport thread.
 */
final class Session implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Session.class.getName());
    /** Room for the batch envelope around one task. */
    private static final int ENVELOPE_BYTES = 4096;

    /** Results parsed with their values pointing into the message's buffer, not copied out again. */
    private static final io.grpc.MethodDescriptor<SessionRequest, SessionResponse> SESSION_METHOD =
            io.cohort.common.AliasingParse.of(ClientServiceGrpc.getSessionMethod());

    private final String target;
    private final ManagedChannel channel;
    private final Codec codec;
    private final ClassLoader loader;
    private final Executor callbacks;
    private final ResultDecoder decoder;
    private final PendingTasks pending = new PendingTasks();
    /** Tasks in flight (ClientConfig.maxInFlight); null: no limit. */
    private volatile InFlightLimit inFlight;
    private final ConcurrentLinkedQueue<Object> outbound = new ConcurrentLinkedQueue<>();
    private final AtomicInteger drainers = new AtomicInteger();
    private final AtomicLong nextId = new AtomicLong();
    private final Object functionLock = new Object();
    /** Guarded by functionLock. Keys are the user's function objects (identity for lambdas). */
    private final Map<Object, ByteString> digestByFunction = new WeakHashMap<>();
    /**
     * Definitions no unanswered task needs that the session remembers having sent, most recently
     * used last. Beyond this many the coordinator may have dropped them too, so one forgotten
     * here is sent again before its next task.
     */
    static final int KEPT_FUNCTIONS = 1024;
    /** How often one task is defined and sent again after the coordinator said it lacks its function. */
    private static final int REDEFINE_AT_MOST = 3;
    private volatile Throwable ended;
    private volatile boolean closeRequested;
    private final String clientName;
    /** How long a lost stream is retried before the pending futures fail; 0: not at all. */
    private final long reconnectMillis;
    /** Guarded by functionLock: the definitions sent on this stream that the session remembers (see KEPT_FUNCTIONS). */
    private final Map<ByteString, FunctionDef> functionDefs = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<ByteString, FunctionDef> eldest) {
            return size() > KEPT_FUNCTIONS;
        }
    };
    /** The stream in use, or being opened. */
    private volatile Inbound current;
    /** The id of the session last welcomed; a reconnect asks to resume it. Null before the first welcome. */
    private volatile String sessionId;
    /** Unanswered tasks the coordinator allows this session (its first welcome); 0: it named no bound. */
    private volatile int coordinatorMaxTasks;
    private volatile long coordinatorMaxTaskBytes;
    /** False while the current stream waits for its welcome: nothing but the hello may be written. */
    private volatile boolean connected;

    private Session(String target, ManagedChannel channel, Codec codec, ClassLoader loader, Executor callbacks,
                    String clientName, long reconnectMillis) {
        this.target = target;
        this.channel = channel;
        this.codec = codec;
        this.loader = loader;
        this.callbacks = callbacks;
        this.decoder = new ResultDecoder(channel, codec, loader);
        this.clientName = clientName;
        this.reconnectMillis = reconnectMillis;
    }

    /**
     * Opens the session and waits for the coordinator's welcome, at most {@code timeoutMillis}.
     * A stream lost later is opened again for up to {@code reconnectMillis}, and the tasks not
     * answered yet are sent again on it.
     */
    static Session open(String target, ManagedChannel channel, String clientName, long timeoutMillis,
                        long reconnectMillis, Codec codec, ClassLoader loader, Executor callbacks) {
        Session s = new Session(target, channel, codec, loader, callbacks, clientName, reconnectMillis);
        Inbound first = s.startStream();
        try {
            ClientWelcome w = first.welcome.get(timeoutMillis, TimeUnit.MILLISECONDS);
            if (w.getProtocolVersion() != Protocol.VERSION) {
                throw new CohortException("coordinator at " + target + " speaks protocol version "
                        + w.getProtocolVersion() + "; this client speaks " + Protocol.VERSION);
            }
            s.sessionId = w.getSessionId();
            s.coordinatorMaxTasks = w.getMaxTasksInFlight();
            s.coordinatorMaxTaskBytes = w.getMaxTaskBytesInFlight();
            s.connected = true;
            return s;
        } catch (TimeoutException e) {
            s.abort();
            throw new CohortException("no answer from a coordinator at " + target + " within "
                    + timeoutMillis + " ms");
        } catch (ExecutionException e) {
            s.abort();
            throw new CohortException("cannot connect to a coordinator at " + target + ": "
                    + describe(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            s.abort();
            throw new CohortException("interrupted while connecting to " + target, e);
        }
    }

    String target() {
        return target;
    }

    /** Opens a stream and says hello on it; the welcome completes its {@code welcome}. */
    private Inbound startStream() {
        Inbound in = new Inbound();
        connected = false;
        current = in;
        io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
                channel.newCall(SESSION_METHOD, io.grpc.CallOptions.DEFAULT.withOnReadyThreshold(1)), in);
        ClientHello.Builder hello = ClientHello.newBuilder().setProtocolVersion(Protocol.VERSION).setClientName(clientName);
        if (sessionId != null) {
            hello.setResumeSessionId(sessionId);
        }
        in.stream.onNext(SessionRequest.newBuilder().setHello(hello).build());
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
        Inbound in = startStream();
        in.welcome.orTimeout(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 5_000), TimeUnit.MILLISECONDS)
                .whenComplete((w, error) -> {
                    if (error == null && w.getProtocolVersion() == Protocol.VERSION) {
                        resume(in, w);
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

    /**
     * On a new stream: defines every function again and sends every task not answered yet. When
     * the coordinator took our session up again, it ignores the tasks it still holds (or has
     * just answered); otherwise they run again.
     */
    private void resume(Inbound in, ClientWelcome welcome) {
        int sent = 0;
        synchronized (functionLock) {   // submit() holds it too: no task slips between clear and re-send
            outbound.clear();   // what was queued was meant for the lost stream
            functionDefs.clear();   // each is defined again before the first task that needs it
            for (Long id : pending.ids()) {
                PendingTasks.Pending p = pending.get(id);
                if (p == null) {
                    continue;
                }
                TaskFuture<?> f = p.future();
                CompletableFuture<Boolean> removal = f.removal;
                boolean removeAsked = removal != null && !removal.isDone() && !f.hasStarted();
                if (f.isDone() || removeAsked) {
                    // Cancelled while the stream was down: it is not sent again.
                    if (pending.claim(id) != null) {
                        f.answerRemoval(true);
                        claimed(1, f.inFlightBytes);
                        pending.answered(1);
                    }
                    continue;
                }
                f.requeued();
                if (p.function() != null && functionDefs.put(p.function().getDigest(), p.function()) == null) {
                    outbound.add(p.function());
                }
                outbound.add(p.submit());
                sent++;
            }
            sessionId = welcome.getSessionId();
            connected = true;
        }
        if (welcome.getResumed()) {
            LOG.log(System.Logger.Level.INFO, "session " + sessionId + " with " + target + " resumed; "
                    + sent + " unanswered tasks offered again (the coordinator skips those it holds)");
        } else {
            LOG.log(System.Logger.Level.WARNING, "session with " + target + " reconnected as a new session; " + sent
                    + " unanswered tasks sent again (they may run a second time)");
        }
        drain();
    }

    private void giveUp(Throwable cause) {
        CohortException t = new CohortException("lost the session with the coordinator at " + target
                + " and could not reconnect within " + reconnectMillis + " ms: " + describe(cause), cause);
        ended = t;
        runCallbacks(() -> failAll(t));
    }

    ManagedChannel channel() {
        return channel;
    }

    /**
     * The id the coordinator gave this session. A reconnect resumes it while the coordinator
     * still holds it (its session grace, or its journal after a restart); otherwise it is a new
     * session under a new id, and shared objects of the old one do not survive.
     */
    String sessionId() {
        return current.welcome.join().getSessionId();
    }

    Codec codec() {
        return codec;
    }

    ClassLoader loader() {
        return loader;
    }

    /** Where completions and dependent stages run; never a transport thread. */
    Executor callbacks() {
        return callbacks;
    }

    /**
     * The definition of a function, encoded once while this session remembers it; {@link
     * #submit} sends it before the first task that needs it.
     */
    FunctionDef function(Object function, TaskBody body) {
        synchronized (functionLock) {
            ByteString digest = digestByFunction.get(function);
            FunctionDef def = digest == null ? null : functionDefs.get(digest);
            if (def == null) {
                ByteString bytes = encodeBody(body);   // shipping: the code it needs in front
                digest = Digests.sha256(bytes);
                def = FunctionDef.newBuilder().setDigest(digest).setBody(bytes).build();
                digestByFunction.put(function, digest);
            }
            return def;
        }
    }

    /** Definitions the session remembers having sent (tests). */
    int functionsKept() {
        synchronized (functionLock) {
            return functionDefs.size();
        }
    }

    /**
     * The coordinator refused a task for want of its function (it drops those no task uses):
     * defines it again and sends the task again, a few times at most. False when it cannot.
     */
    private boolean redefine(TaskResult r) {
        PendingTasks.Pending p = pending.get(r.getTaskId());
        if (p == null || p.function() == null || !p.function().getDigest().equals(r.getUndefinedFunction())
                || p.redefined().incrementAndGet() > REDEFINE_AT_MOST || ended != null) {
            return false;
        }
        synchronized (functionLock) {
            if (!connected || pending.get(r.getTaskId()) != p) {
                return true;   // a new stream sends it again anyway, or it is answered already
            }
            functionDefs.put(p.function().getDigest(), p.function());
            outbound.add(p.function());
            outbound.add(p.submit());
        }
        drain();
        return true;
    }

    /** Hook (code shipping): what travels in front of every task body; null: nothing. */
    private volatile TaskCode taskCode;

    /** Hook (code shipping): from now on every task body carries the code it needs. */
    void shipWith(TaskCode code) {
        this.taskCode = code;
    }

    /** Encodes a task body with, in front, the code it needs (see {@link TaskCode}). */
    ByteString encodeBody(TaskBody body) {
        ByteString bytes = encodeTask(body);
        TaskCode code = taskCode;
        return code == null ? bytes : code.wrap(body, bytes);
    }

    /** Encodes a task's body or argument; what cannot be encoded is refused before anything is sent. */
    ByteString encodeTask(Object value) {
        ByteString bytes;
        try {
            bytes = codec.encode(value);
        } catch (CodecException e) {
            throw new IllegalArgumentException("task cannot be sent: " + e.getMessage(), e);
        }
        if (bytes.size() > Protocol.MAX_MESSAGE_BYTES - ENVELOPE_BYTES) {
            throw new IllegalArgumentException("task payload of " + bytes.size()
                    + " bytes exceeds the limit of " + (Protocol.MAX_MESSAGE_BYTES - ENVELOPE_BYTES) + " bytes");
        }
        return bytes;
    }

    /**
     * Encodes a task's argument; what cannot be encoded is refused before anything is sent. Any
     * size is allowed: one over the chunk threshold is offered in chunks when submitted.
     */
    ByteString encodeArgument(Object value) {
        try {
            return codec.encode(value);
        } catch (CodecException e) {
            throw new IllegalArgumentException("task cannot be sent: " + e.getMessage(), e);
        }
    }

    /** What the coordinator allows this session in flight, if it said. */
    java.util.OptionalInt coordinatorMaxTasks() {
        int max = coordinatorMaxTasks;
        return max > 0 ? java.util.OptionalInt.of(max) : java.util.OptionalInt.empty();
    }

    /** What the coordinator allows this session's unanswered tasks to take in encoded bytes, if it said. */
    java.util.OptionalLong coordinatorMaxTaskBytes() {
        long max = coordinatorMaxTaskBytes;
        return max > 0 ? java.util.OptionalLong.of(max) : java.util.OptionalLong.empty();
    }

    /** Bounds the tasks in flight and their bytes: at the bound, submit blocks ({@code block}) or is refused. */
    void limitInFlight(int max, long maxBytes, boolean block) {
        inFlight = new InFlightLimit(max, maxBytes, block);
    }

    /**
     * A task's encoded bytes as the coordinator counts them (spec and policy), a little over:
     * an argument that travels in chunks counts only its reference.
     */
    private static long inFlightBytes(TaskSpec spec, TaskPolicy policy) {
        long argument = spec.hasArgument() && Payloads.chunked(spec.getArgument()) ? spec.getArgument().size() - 256L : 0;
        return spec.getSerializedSize() - argument + policy.getSerializedSize() + 16;
    }

    /** Sends one task; the future completes when its result arrives. */
    <T> TaskFuture<T> submit(TaskSpec spec, TaskPolicy policy, boolean chunk, Runnable original) {
        return submit(spec, policy, chunk, original, null, null);
    }

    /** Sends one task of {@code function} (from {@link #function}), defining it first if need be. */
    <T> TaskFuture<T> submit(TaskSpec spec, TaskPolicy policy, boolean chunk, Runnable original, FunctionDef function) {
        return submit(spec, policy, chunk, original, null, function);
    }

    /**
     * Sends a process task; {@code output} receives its pid and output lines in order, on a
     * transport thread (so it must be quick), before the result completes the future.
     */
    <T> TaskFuture<T> submit(TaskSpec spec, TaskPolicy policy, Consumer<ProcessOutput> output) {
        return submit(spec, policy, false, null, output, null);
    }

    /** Asks the worker to terminate (15) or kill (9) a running process task. */
    void signal(TaskFuture<?> future, int signal) {
        if (ended == null) {
            outbound.add(TaskCancel.newBuilder().setTaskId(future.id()).setInterrupt(true).setSignal(signal).build());
            drain();
        }
    }

    private <T> TaskFuture<T> submit(TaskSpec spec, TaskPolicy policy, boolean chunk, Runnable original,
                                     Consumer<ProcessOutput> output, FunctionDef function) {
        InFlightLimit limit = inFlight;
        long bytes = inFlightBytes(spec, policy);
        if (limit != null) {
            limit.take(bytes);
        }
        long id = nextId.incrementAndGet();
        TaskFuture<T> future = new TaskFuture<>(id, policy.getName(), canceller, callbacks);
        future.original = original;
        future.chunk = chunk;
        future.inFlightBytes = bytes;
        Throwable gone = ended;
        if (gone != null) {
            if (limit != null) {
                limit.release(1, bytes);
            }
            future.completeExceptionally(sessionEnded(gone));
            return future;
        }
        if (spec.hasArgument() && Payloads.chunked(spec.getArgument())) {
            // Offered until the task is done (a retry on another worker fetches it again); the
            // task's message carries only where to fetch it.
            Payloads.Offer offer = Payloads.offer(channel, spec.getArgument(), false);
            spec = spec.toBuilder().clearArgument().setArgumentPayload(offer.ref()).build();
            future.whenDone(offer::close);
        }
        pending.expect();
        TaskSubmit submit = TaskSubmit.newBuilder().setTaskId(id).setSpec(spec).setPolicy(policy).build();
        synchronized (functionLock) {
            pending.add(future, submit, function, output);
            if (function != null && functionDefs.get(function.getDigest()) == null) {
                functionDefs.put(function.getDigest(), function);   // may forget the longest unused
                outbound.add(function);
            }
            outbound.add(submit);
        }
        drain();
        if (ended != null) {
            failAll(ended);   // the stream ended while we queued: nobody else will fail it
        }
        return future;
    }

    /** How long a cancel waits for the cluster to say whether it removed a task. */
    private static final long REMOVAL_ANSWER_SECONDS = 30;

    private final TaskFuture.Canceller canceller = new TaskFuture.Canceller() {
        @Override
        public void interruptRemote(TaskFuture<?> future) {
            if (ended == null) {
                outbound.add(TaskCancel.newBuilder().setTaskId(future.id()).setInterrupt(true).build());
                drain();
            }
        }

        @Override
        public boolean removeIfNotStarted(TaskFuture<?> future) {
            return !Session.this.removeIfNotStarted(List.of(future)).isEmpty();
        }
    };

    /**
     * Asks the cluster to remove tasks that have not started, all at once, and waits for its
     * answers: a task is removed (and its future cancelled) or it has started (or ended).
     * Returns the futures cancelled.
     */
    List<TaskFuture<?>> removeIfNotStarted(Collection<? extends TaskFuture<?>> futures) {
        List<TaskFuture<?>> asked = new ArrayList<>();
        for (TaskFuture<?> f : futures) {
            if (f.isDone() || f.hasStarted() || ended != null) {
                continue;
            }
            CompletableFuture<Boolean> answer = new CompletableFuture<>();
            f.removal = answer;
            // The answer may have come before we listened for it.
            if (f.hasStarted() || !pending.contains(f.id())) {
                answer.complete(false);
                continue;
            }
            outbound.add(TaskCancel.newBuilder().setTaskId(f.id()).setInterrupt(false).build());
            asked.add(f);
        }
        drain();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(REMOVAL_ANSWER_SECONDS);
        List<TaskFuture<?>> removed = new ArrayList<>();
        for (TaskFuture<?> f : asked) {
            try {
                if (f.removal.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    f.cancelledRemotely();
                    removed.add(f);
                }
            } catch (TimeoutException | ExecutionException e) {
                LOG.log(System.Logger.Level.WARNING, "no answer to the cancel of task " + f.describe());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return removed;
    }

    /** Futures not yet answered by the coordinator. */
    Collection<TaskFuture<?>> pending() {
        return pending.futures();
    }

    /** True when every submitted task's future is complete. */
    boolean isIdle() {
        return pending.isIdle();
    }

    /** Waits until every submitted task has been answered, at most until {@code deadlineNanos}. */
    boolean awaitIdle(long deadlineNanos) throws InterruptedException {
        return pending.awaitIdle(deadlineNanos);
    }

    /** Ends the session after what is queued has been sent. */
    @Override
    public void close() {
        closeRequested = true;
        drain();
        channel.shutdown();
        try {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            channel.shutdownNow();
        }
        failAll(new CohortException("the executor was closed"));
    }

    private void abort() {
        channel.shutdownNow();
    }

    /** Writes queued items while the stream is ready; one thread at a time, others leave it work. */
    private void drain() {
        if (drainers.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        do {
            Inbound in = current;
            ClientCallStreamObserver<SessionRequest> out = in.stream;
            try {
                while (connected && !in.halfClosed && out.isReady() && !outbound.isEmpty()) {
                    out.onNext(SubmitBatcher.next(outbound));
                }
                if (connected && closeRequested && !in.halfClosed && outbound.isEmpty()) {
                    in.halfClosed = true;
                    out.onCompleted();
                }
            } catch (RuntimeException e) {
                // The call was already cancelled; the inbound side reports why.
                LOG.log(System.Logger.Level.DEBUG, "write to " + target + " failed", e);
                outbound.clear();
            }
            missed = drainers.addAndGet(-missed);
        } while (missed != 0);
    }

    /**
     * Gives back room under the in-flight limit for tasks just claimed from {@code pending},
     * before their futures complete, so a caller who sees a future done can submit again.
     */
    private void claimed(int count, long bytes) {
        InFlightLimit limit = inFlight;
        if (limit != null) {
            limit.release(count, bytes);
        }
    }

    /**
     * Completes a future from its result, unless a getter or this executor already did. On the
     * transport thread unless the value must be fetched; whatever goes wrong fails that future only.
     */
    private void completeOnce(TaskFuture<?> future, TaskResult r) {
        try {
            if (r.hasValuePayload()) {
                synchronized (r) {   // a getter and the callback executor may both get here: fetch once
                    if (!future.isDone()) {
                        decoder.complete(future, r);
                    }
                }
            } else if (!future.isDone()) {
                decoder.complete(future, r);
            }
        } catch (RuntimeException | LinkageError e) {
            future.completeExceptionally(new CohortException("cannot complete task " + future.describe() + ": " + e, e));
        }
        future.arrivalDone();
    }

    private void failAll(Throwable cause) {
        int failed = 0;
        long bytes = 0;
        for (Long id : pending.ids()) {
            PendingTasks.Pending p = pending.claim(id);
            if (p != null) {
                TaskFuture<?> f = p.future();
                failed++;
                bytes += f.inFlightBytes;
                f.answerRemoval(false);
                f.completeExceptionally(sessionEnded(cause));
            }
        }
        claimed(failed, bytes);
        pending.answered(failed);
    }

    private CohortException sessionEnded(Throwable cause) {
        return cause instanceof CohortException ce ? ce
                : new CohortException("session with the coordinator at " + target + " ended: " + describe(cause), cause);
    }

    private static String describe(Throwable t) {
        Status s = Status.fromThrowable(t);
        return s.getCode() == Status.Code.UNKNOWN ? String.valueOf(t)
                : s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }

    private void runCallbacks(Runnable work) {
        try {
            callbacks.execute(work);
        } catch (RejectedExecutionException e) {
            work.run();   // the user's executor is shut down: complete here rather than never
        }
    }

    /** The coordinator's side of the stream. Runs on transport threads: hands off, never blocks. */
    /** One stream of the session: the first, or one opened by a reconnect. */
    private final class Inbound implements ClientResponseObserver<SessionRequest, SessionResponse> {
        final CompletableFuture<ClientWelcome> welcome = new CompletableFuture<>();
        volatile ClientCallStreamObserver<SessionRequest> stream;
        boolean halfClosed;   // only touched by the drainer

        @Override
        public void beforeStart(ClientCallStreamObserver<SessionRequest> stream) {
            this.stream = stream;
            stream.setOnReadyHandler(Session.this::drain);
        }

        @Override
        public void onNext(SessionResponse response) {
            if (response.hasWelcome()) {
                welcome.complete(response.getWelcome());
            }
            if (this != current) {
                return;   // a stream replaced by a reconnect
            }
            for (TaskStarted s : response.getStartedList()) {
                PendingTasks.Pending p = pending.get(s.getTaskId());
                if (p != null) {
                    p.future().markStarted(s.getWorkerId());
                }
            }
            for (TaskProcessOutput o : response.getProcessOutputList()) {
                Consumer<ProcessOutput> sink = pending.outputOf(o.getTaskId());
                if (sink != null) {
                    sink.accept(o.getOutput());
                }
            }
            List<TaskResult> arrived;
            try {
                arrived = io.cohort.common.ColumnBatches.results(response);
            } catch (IllegalArgumentException e) {
                stream.cancel(e.getMessage(), e);   // ends the stream: onError follows
                return;
            }
            if (!arrived.isEmpty()) {
                // Claimed here, in arrival order, so a later end of the stream cannot fail them.
                List<TaskFuture<?>> futures = new ArrayList<>(arrived.size());
                List<TaskResult> results = new ArrayList<>(arrived.size());
                long bytes = 0;
                for (TaskResult r : arrived) {
                    if (r.getStatus() == TaskStatus.REJECTED && !r.getUndefinedFunction().isEmpty() && redefine(r)) {
                        continue;   // sent again with its function: its answer is still to come
                    }
                    PendingTasks.Pending p = pending.claim(r.getTaskId());
                    if (p != null) {
                        TaskFuture<?> f = p.future();
                        f.answerRemoval(r.getStatus() == TaskStatus.CANCELLED);
                        futures.add(f);
                        results.add(r);
                        bytes += f.inFlightBytes;
                    }
                }
                claimed(futures.size(), bytes);
                // Completed here, on the transport thread: a stage chained on a TaskFuture never
                // runs on the completing thread (see TaskFuture), so no user code runs here, and
                // a parked getter is woken without a hand-off to the callback executor. A value
                // that travels in chunks is fetched there instead: that blocks.
                List<TaskFuture<?>> fetched = null;
                List<TaskResult> fetchedResults = null;
                int completedHere = 0;
                for (int i = 0; i < futures.size(); i++) {
                    TaskFuture<?> f = futures.get(i);
                    TaskResult r = results.get(i);
                    if (!r.hasValuePayload()) {
                        completeOnce(f, r);
                        completedHere++;
                        continue;
                    }
                    if (fetched == null) {
                        fetched = new ArrayList<>();
                        fetchedResults = new ArrayList<>();
                    }
                    fetched.add(f);
                    fetchedResults.add(r);
                    f.arrived(() -> completeOnce(f, r));   // a getter parked on it may fetch it now
                }
                pending.answered(completedHere);
                if (fetched != null) {
                    List<TaskFuture<?>> toFetch = fetched;
                    List<TaskResult> toFetchResults = fetchedResults;
                    runCallbacks(() -> {
                        for (int i = 0; i < toFetch.size(); i++) {
                            completeOnce(toFetch.get(i), toFetchResults.get(i));
                        }
                        pending.answered(toFetch.size());
                    });
                }
            }
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
                return;   // replaced, or never opened: open() or reconnect() decides what follows
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
            runCallbacks(() -> failAll(t));
        }
    }
}
