package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.common.Codec;
import io.cohort.common.CodecException;
import io.cohort.common.Digests;
import io.cohort.common.Protocol;
import io.cohort.common.TaskBody;
import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.ClientWelcome;
import io.cohort.proto.v1.ElementError;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.ProcessOutput;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.TaskCancel;
import io.cohort.proto.v1.TaskError;
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
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
    /** A batch is cut at about this many bytes, well under the message limit. */
    private static final int BATCH_BYTES = 1 << 20;
    /** Room for the batch envelope around one task. */
    private static final int ENVELOPE_BYTES = 4096;

    private final String target;
    private final ManagedChannel channel;
    private final Codec codec;
    private final ClassLoader loader;
    private final Executor callbacks;
    private final Map<Long, TaskFuture<?>> pending = new ConcurrentHashMap<>();
    /** Where the pid and output lines of process tasks go, by task id, until their results arrive. */
    private final Map<Long, Consumer<ProcessOutput>> processOutput = new ConcurrentHashMap<>();
    /** Submitted tasks whose futures are not completed yet (pending ones, and answers in hand-off). */
    private final AtomicInteger unanswered = new AtomicInteger();
    private final ConcurrentLinkedQueue<Object> outbound = new ConcurrentLinkedQueue<>();
    private final AtomicInteger drainers = new AtomicInteger();
    private final AtomicLong nextId = new AtomicLong();
    private final CompletableFuture<ClientWelcome> welcome = new CompletableFuture<>();
    private final Object functionLock = new Object();
    /** Guarded by functionLock. Keys are the user's function objects (identity for lambdas). */
    private final Map<Object, ByteString> digestByFunction = new WeakHashMap<>();
    /** Guarded by functionLock. */
    private final java.util.Set<ByteString> sentDigests = new java.util.HashSet<>();
    private final Object idle = new Object();
    private volatile ClientCallStreamObserver<SessionRequest> requests;
    private volatile Throwable ended;
    private volatile boolean closeRequested;
    private boolean halfClosed;   // only touched by the drainer

    private Session(String target, ManagedChannel channel, Codec codec, ClassLoader loader, Executor callbacks) {
        this.target = target;
        this.channel = channel;
        this.codec = codec;
        this.loader = loader;
        this.callbacks = callbacks;
    }

    /** Opens the session and waits for the coordinator's welcome, at most {@code timeoutMillis}. */
    static Session open(String target, ManagedChannel channel, String clientName, long timeoutMillis,
                        Codec codec, ClassLoader loader, Executor callbacks) {
        Session s = new Session(target, channel, codec, loader, callbacks);
        ClientServiceGrpc.newStub(channel).withOnReadyThreshold(1).session(s.new Inbound());
        s.requests.onNext(SessionRequest.newBuilder().setHello(ClientHello.newBuilder()
                .setProtocolVersion(Protocol.VERSION).setClientName(clientName)).build());
        try {
            ClientWelcome w = s.welcome.get(timeoutMillis, TimeUnit.MILLISECONDS);
            if (w.getProtocolVersion() != Protocol.VERSION) {
                throw new CohortException("coordinator at " + target + " speaks protocol version "
                        + w.getProtocolVersion() + "; this client speaks " + Protocol.VERSION);
            }
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

    ManagedChannel channel() {
        return channel;
    }

    Codec codec() {
        return codec;
    }

    ClassLoader loader() {
        return loader;
    }

    /** The digest of a function, sending its definition first if this session has not yet. */
    ByteString functionDigest(Object function, TaskBody body) {
        synchronized (functionLock) {
            ByteString digest = digestByFunction.get(function);
            if (digest == null) {
                ByteString bytes = encodeTask(body);
                digest = Digests.sha256(bytes);
                if (sentDigests.add(digest)) {
                    outbound.add(FunctionDef.newBuilder().setDigest(digest).setBody(bytes).build());
                }
                digestByFunction.put(function, digest);
            }
            return digest;
        }
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

    /** Sends one task; the future completes when its result arrives. */
    <T> TaskFuture<T> submit(TaskSpec spec, TaskPolicy policy, boolean chunk, Runnable original) {
        return submit(spec, policy, chunk, original, null);
    }

    /**
     * Sends a process task; {@code output} receives its pid and output lines in order, on a
     * transport thread (so it must be quick), before the result completes the future.
     */
    <T> TaskFuture<T> submit(TaskSpec spec, TaskPolicy policy, Consumer<ProcessOutput> output) {
        return submit(spec, policy, false, null, output);
    }

    /** Asks the worker to terminate (15) or kill (9) a running process task. */
    void signal(TaskFuture<?> future, int signal) {
        if (ended == null) {
            outbound.add(TaskCancel.newBuilder().setTaskId(future.id()).setInterrupt(true).setSignal(signal).build());
            drain();
        }
    }

    private <T> TaskFuture<T> submit(TaskSpec spec, TaskPolicy policy, boolean chunk, Runnable original,
                                     Consumer<ProcessOutput> output) {
        long id = nextId.incrementAndGet();
        TaskFuture<T> future = new TaskFuture<>(id, policy.getName(), canceller);
        future.original = original;
        future.chunk = chunk;
        Throwable gone = ended;
        if (gone != null) {
            future.completeExceptionally(sessionEnded(gone));
            return future;
        }
        unanswered.incrementAndGet();
        pending.put(id, future);
        if (output != null) {
            processOutput.put(id, output);
        }
        outbound.add(TaskSubmit.newBuilder().setTaskId(id).setSpec(spec).setPolicy(policy).build());
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
            if (f.hasStarted() || !pending.containsKey(f.id())) {
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
        return pending.values();
    }

    /** True when every submitted task's future is complete. */
    boolean isIdle() {
        return unanswered.get() == 0;
    }

    /** Waits until every submitted task has been answered, at most until {@code deadlineNanos}. */
    boolean awaitIdle(long deadlineNanos) throws InterruptedException {
        synchronized (idle) {
            while (unanswered.get() > 0) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(idle, left);
            }
            return true;
        }
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
            ClientCallStreamObserver<SessionRequest> out = requests;
            try {
                while (!halfClosed && out.isReady() && !outbound.isEmpty()) {
                    out.onNext(nextBatch());
                }
                if (closeRequested && !halfClosed && outbound.isEmpty()) {
                    halfClosed = true;
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

    private SessionRequest nextBatch() {
        SessionRequest.Builder batch = SessionRequest.newBuilder();
        int bytes = 0;
        Object item;
        while (bytes < BATCH_BYTES && (item = outbound.poll()) != null) {
            if (item instanceof TaskSubmit submit) {
                batch.addSubmits(submit);
                bytes += submit.getSerializedSize();
            } else if (item instanceof FunctionDef def) {
                batch.addFunctions(def);
                bytes += def.getSerializedSize();
            } else {
                batch.addCancels((TaskCancel) item);
                bytes += 16;
            }
        }
        return batch.build();
    }

    private void answered(int count) {
        if (unanswered.addAndGet(-count) == 0) {
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void complete(TaskFuture<?> future, TaskResult r) {
        TaskFuture<Object> f = (TaskFuture<Object>) future;
        f.original = null;
        boolean chunk = f.chunk;
        f.setWorkerId(r.getWorkerId());
        try {
            switch (r.getStatus()) {
                case SUCCEEDED -> {
                    Object value = r.hasValue() ? codec.decode(r.getValue(), loader) : null;
                    f.complete(chunk ? chunkOutcome((Object[]) value, r.getElementErrorsList()) : value);
                }
                case FAILED -> f.completeExceptionally(rebuild(r.getError()));
                case TIMED_OUT -> f.completeExceptionally(new TaskTimeoutException(message(r.getError(), "timed out")));
                case WORKER_LOST -> f.completeExceptionally(new WorkerLostException(message(r.getError(), "worker lost")));
                case CANCELLED -> f.completeExceptionally(new CancellationException(message(r.getError(), "cancelled")));
                default -> f.completeExceptionally(new CohortException(message(r.getError(), "refused: " + r.getStatus())));
            }
        } catch (CodecException | ClassCastException e) {
            f.completeExceptionally(new CohortException("cannot decode the result of task "
                    + f.describe() + ": " + e.getMessage(), e));
        }
    }

    private ChunkOutcome chunkOutcome(Object[] values, List<ElementError> errors) {
        Throwable[] failures = new Throwable[values.length];
        for (ElementError e : errors) {
            failures[e.getIndex()] = rebuild(e.getError());
        }
        return new ChunkOutcome(values, failures);
    }

    /** The task's own exception when it can be rebuilt here, else a description of it. */
    Throwable rebuild(TaskError error) {
        if (!error.getSerialized().isEmpty()) {
            try {
                if (codec.decode(error.getSerialized(), loader) instanceof Throwable t) {
                    return t;
                }
            } catch (CodecException notHere) {
                // its class is not on this side: describe it instead
            }
        }
        return new RemoteTaskException(error.getClassName(), error.getMessage(), error.getWorkerId(),
                TaskErrors.frames(error));
    }

    private static String message(TaskError error, String fallback) {
        String m = error.getMessage().isEmpty() ? fallback : error.getMessage();
        return error.getWorkerId().isEmpty() || m.contains(error.getWorkerId())
                ? m : m + " (worker " + error.getWorkerId() + ")";
    }

    private void failAll(Throwable cause) {
        int failed = 0;
        for (Long id : List.copyOf(pending.keySet())) {
            TaskFuture<?> f = pending.remove(id);
            processOutput.remove(id);
            if (f != null) {
                failed++;
                f.answerRemoval(false);
                f.completeExceptionally(sessionEnded(cause));
            }
        }
        answered(failed);
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
    private final class Inbound implements ClientResponseObserver<SessionRequest, SessionResponse> {
        @Override
        public void beforeStart(ClientCallStreamObserver<SessionRequest> stream) {
            requests = stream;
            stream.setOnReadyHandler(Session.this::drain);
        }

        @Override
        public void onNext(SessionResponse response) {
            if (response.hasWelcome()) {
                welcome.complete(response.getWelcome());
            }
            for (TaskStarted s : response.getStartedList()) {
                TaskFuture<?> f = pending.get(s.getTaskId());
                if (f != null) {
                    f.markStarted(s.getWorkerId());
                }
            }
            for (TaskProcessOutput o : response.getProcessOutputList()) {
                Consumer<ProcessOutput> sink = processOutput.get(o.getTaskId());
                if (sink != null) {
                    sink.accept(o.getOutput());
                }
            }
            if (response.getResultsCount() > 0) {
                // Claimed here, in arrival order, so a later end of the stream cannot fail them.
                List<TaskFuture<?>> futures = new ArrayList<>(response.getResultsCount());
                List<TaskResult> results = new ArrayList<>(response.getResultsCount());
                for (TaskResult r : response.getResultsList()) {
                    TaskFuture<?> f = pending.remove(r.getTaskId());
                    processOutput.remove(r.getTaskId());
                    if (f != null) {
                        f.answerRemoval(r.getStatus() == TaskStatus.CANCELLED);
                        futures.add(f);
                        results.add(r);
                    }
                }
                if (!futures.isEmpty()) {
                    runCallbacks(() -> {
                        for (int i = 0; i < futures.size(); i++) {
                            complete(futures.get(i), results.get(i));
                        }
                        answered(futures.size());
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
            ended = t;
            welcome.completeExceptionally(t);
            if (!closeRequested) {
                LOG.log(System.Logger.Level.WARNING, "session with " + target + " ended: " + describe(t));
            }
            runCallbacks(() -> failAll(t));
        }
    }

    /** What a chunk task returns: one value or failure per input. */
    record ChunkOutcome(Object[] values, Throwable[] failures) {}
}
