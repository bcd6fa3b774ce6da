package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.common.Codec;
import io.cohort.common.Payloads;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.ClientWelcome;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.ProcessOutput;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.TaskCancel;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskSubmit;
import io.grpc.ManagedChannel;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One client session: the futures it owes and the tasks it sends, over one stream to the
 * coordinator.
 *
 * <p>Design notes. The session composes parts with one job each: {@link SessionStream} (the
 * stream, its handshake, reconnect and resume) with its {@link BatchWriter} (adaptive
 * batching of what goes out), {@link TaskEncoder} (codec and function digests), {@link
 * PendingTasks} (the unanswered tasks), {@link InFlightLimit}, and {@link ResultIntake}
 * (results decoded into futures on the transport thread, so a parked getter is woken without
 * a hand-off; user code never runs there). This class submits, cancels, sends again what a
 * new stream must carry, and fails what is left when the session ends.
 */
final class Session implements AutoCloseable, SessionStream.Listener, ResultIntake.Owner {
    private static final System.Logger LOG = System.getLogger(Session.class.getName());
    /** Definitions no unanswered task needs that the session remembers having sent (see {@link TaskEncoder}). */
    static final int KEPT_FUNCTIONS = TaskEncoder.KEPT_FUNCTIONS;
    /** How often one task is defined and sent again after the coordinator said it lacks its function. */
    private static final int REDEFINE_AT_MOST = 3;
    /** How long a cancel waits for the cluster to say whether it removed a task. */
    private static final long REMOVAL_ANSWER_SECONDS = 30;

    private final ManagedChannel channel;
    private final ClassLoader loader;
    private final Executor callbacks;
    private final PendingTasks pending = new PendingTasks();
    /** Tasks in flight (ClientConfig.maxInFlight); null: no limit. */
    private volatile InFlightLimit inFlight;
    private final AtomicLong nextId = new AtomicLong();
    /**
     * Orders what is queued to send against a resume: a submit's pending entry and its queued
     * items, and a resume's clearing and sending again, never interleave (else a task could be
     * sent twice on a new stream, or not at all).
     */
    private final Object sendLock = new Object();
    private final TaskEncoder encoder;
    private final SessionStream stream;
    private final BatchWriter writer;
    private final ResultIntake intake;

    private Session(String target, ManagedChannel channel, Codec codec, ClassLoader loader, Executor callbacks,
                    String clientName, long reconnectMillis) {
        this.channel = channel;
        this.loader = loader;
        this.callbacks = callbacks;
        this.encoder = new TaskEncoder(codec, sendLock);
        this.stream = new SessionStream(target, channel, clientName, reconnectMillis, this);
        this.writer = stream.writer();
        this.intake = new ResultIntake(pending, new ResultDecoder(channel, codec, loader), callbacks, this);
    }

    /**
     * Opens the session and waits for the coordinator's welcome, at most {@code timeoutMillis}.
     * A stream lost later is opened again for up to {@code reconnectMillis}, and the tasks not
     * answered yet are sent again on it.
     */
    static Session open(String target, ManagedChannel channel, String clientName, long timeoutMillis,
                        long reconnectMillis, Codec codec, ClassLoader loader, Executor callbacks) {
        Session s = new Session(target, channel, codec, loader, callbacks, clientName, reconnectMillis);
        s.stream.connect(timeoutMillis);
        return s;
    }

    String target() {
        return stream.target();
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
        return stream.sessionId();
    }

    Codec codec() {
        return encoder.codec();
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
        return encoder.function(function, body);
    }

    /** Definitions the session remembers having sent (tests). */
    int functionsKept() {
        return encoder.kept();
    }

    /** Hook (code shipping): from now on every task body carries the code it needs. */
    void shipWith(TaskCode code) {
        encoder.shipWith(code);
    }

    /** Encodes a task body with, in front, the code it needs (see {@link TaskCode}). */
    ByteString encodeBody(TaskBody body) {
        return encoder.encodeBody(body);
    }

    /** Encodes a task's body or argument; what cannot be encoded is refused before anything is sent. */
    ByteString encodeTask(Object value) {
        return encoder.encodeTask(value);
    }

    /**
     * Encodes a task's argument; what cannot be encoded is refused before anything is sent. Any
     * size is allowed: one over the chunk threshold is offered in chunks when submitted.
     */
    ByteString encodeArgument(Object value) {
        return encoder.encodeArgument(value);
    }

    /** What the coordinator allows this session in flight, if it said. */
    java.util.OptionalInt coordinatorMaxTasks() {
        int max = stream.coordinatorMaxTasks();
        return max > 0 ? java.util.OptionalInt.of(max) : java.util.OptionalInt.empty();
    }

    /** What the coordinator allows this session's unanswered tasks to take in encoded bytes, if it said. */
    java.util.OptionalLong coordinatorMaxTaskBytes() {
        long max = stream.coordinatorMaxTaskBytes();
        return max > 0 ? java.util.OptionalLong.of(max) : java.util.OptionalLong.empty();
    }

    /** Bounds the tasks in flight and their bytes: at the bound, submit blocks ({@code block}) or is refused. */
    void limitInFlight(int max, long maxBytes, boolean block) {
        inFlight = new InFlightLimit(max, maxBytes, block);
    }

    // ---- sending

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
        if (stream.ended() == null) {
            writer.add(TaskCancel.newBuilder().setTaskId(future.id()).setInterrupt(true).setSignal(signal).build());
            writer.drain();
        }
    }

    private <T> TaskFuture<T> submit(TaskSpec spec, TaskPolicy policy, boolean chunk, Runnable original,
                                     Consumer<ProcessOutput> output, FunctionDef function) {
        InFlightLimit limit = inFlight;
        long bytes = TaskEncoder.inFlightBytes(spec, policy);
        if (limit != null) {
            limit.take(bytes);
        }
        long id = nextId.incrementAndGet();
        TaskFuture<T> future = new TaskFuture<>(id, policy.getName(), canceller, callbacks);
        future.original = original;
        future.chunk = chunk;
        future.inFlightBytes = bytes;
        Throwable gone = stream.ended();
        if (gone != null) {
            if (limit != null) {
                limit.release(1, bytes);
            }
            future.fail(sessionEnded(gone));
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
        synchronized (sendLock) {
            pending.add(future, submit, function, output);
            if (function != null && encoder.markSent(function)) {   // may forget the longest unused
                writer.add(function);
            }
            writer.add(submit);
        }
        writer.drain();
        Throwable ended = stream.ended();
        if (ended != null) {
            failAll(ended);   // the stream ended while we queued: nobody else will fail it
        }
        return future;
    }

    /**
     * The coordinator refused a task for want of its function (it drops those no task uses):
     * defines it again and sends the task again, a few times at most. False when it cannot.
     */
    @Override
    public boolean redefine(TaskResult r) {
        PendingTasks.Pending p = pending.get(r.getTaskId());
        if (p == null || p.function() == null || !p.function().getDigest().equals(r.getUndefinedFunction())
                || p.redefined().incrementAndGet() > REDEFINE_AT_MOST || stream.ended() != null) {
            return false;
        }
        synchronized (sendLock) {
            if (!stream.connected() || pending.get(r.getTaskId()) != p) {
                return true;   // a new stream sends it again anyway, or it is answered already
            }
            encoder.resent(p.function());
            writer.add(p.function());
            writer.add(p.submit());
        }
        writer.drain();
        return true;
    }

    private final TaskFuture.Canceller canceller = new TaskFuture.Canceller() {
        @Override
        public void interruptRemote(TaskFuture<?> future) {
            if (stream.ended() == null) {
                writer.add(TaskCancel.newBuilder().setTaskId(future.id()).setInterrupt(true).build());
                writer.drain();
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
            if (f.isDone() || f.hasStarted() || stream.ended() != null) {
                continue;
            }
            CompletableFuture<Boolean> answer = new CompletableFuture<>();
            f.removal = answer;
            // The answer may have come before we listened for it.
            if (f.hasStarted() || !pending.contains(f.id())) {
                answer.complete(false);
                continue;
            }
            writer.add(TaskCancel.newBuilder().setTaskId(f.id()).setInterrupt(false).build());
            asked.add(f);
        }
        writer.drain();
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

    // ---- what the stream brings

    @Override
    public void received(SessionResponse response, SessionStream.Call from) {
        intake.received(response, from);
    }

    /**
     * On a new stream: defines every function again and sends every task not answered yet. When
     * the coordinator took our session up again, it ignores the tasks it still holds (or has
     * just answered); otherwise they run again.
     */
    @Override
    public void reopened(ClientWelcome welcome) {
        int sent = 0;
        synchronized (sendLock) {   // submit() holds it too: no task slips between clear and re-send
            writer.clear();   // what was queued was meant for the lost stream
            encoder.forgetSent();   // each is defined again before the first task that needs it
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
                if (p.function() != null && encoder.markSent(p.function())) {
                    writer.add(p.function());
                }
                writer.add(p.submit());
                sent++;
            }
            stream.welcomed(welcome);
        }
        if (welcome.getResumed()) {
            LOG.log(System.Logger.Level.INFO, "session " + stream.lastSessionId() + " with " + stream.target()
                    + " resumed; " + sent + " unanswered tasks offered again (the coordinator skips those it holds)");
        } else {
            LOG.log(System.Logger.Level.WARNING, "session with " + stream.target() + " reconnected as a new session; "
                    + sent + " unanswered tasks sent again (they may run a second time)");
        }
        writer.drain();
    }

    @Override
    public void ended(Throwable why) {
        runOn(callbacks, () -> failAll(why));
    }

    // ---- waiting and ending

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
        stream.requestClose();
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

    /**
     * Gives back room under the in-flight limit for tasks just claimed from {@code pending},
     * before their futures complete, so a caller who sees a future done can submit again.
     */
    @Override
    public void claimed(int count, long bytes) {
        InFlightLimit limit = inFlight;
        if (limit != null) {
            limit.release(count, bytes);
        }
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
                f.fail(sessionEnded(cause));
            }
        }
        claimed(failed, bytes);
        pending.answered(failed);
    }

    private CohortException sessionEnded(Throwable cause) {
        return cause instanceof CohortException ce ? ce : new CohortException("session with the coordinator at "
                + stream.target() + " ended: " + SessionStream.describe(cause), cause);
    }

    /** Runs {@code work} on the callback executor, or here when that is shut down (rather than never). */
    static void runOn(Executor callbacks, Runnable work) {
        try {
            callbacks.execute(work);
        } catch (RejectedExecutionException e) {
            work.run();
        }
    }
}
