package io.cohort.worker;

import io.cohort.common.ColumnBatches;
import io.cohort.common.Protocol;
import io.cohort.common.TaskContext;
import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.Isolation;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerWelcome;
import io.cohort.worker.WorkerState.Command;
import io.cohort.worker.WorkerState.Event;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A running worker daemon: attaches to the coordinator, runs the tasks it is assigned on
 * {@link WorkerConfig#slots()} threads, and re-attaches when the stream is lost.
 *
 * <p>Lifecycle: {@link #start} returns at once and connects in the background;
 * {@link #attached()} completes on the first welcome; {@link #drain()} stops gracefully;
 * {@link #close()} stops at once. {@link #termination()} completes with the exit status:
 * 0 after a drain or close, 1 after a fatal error such as a protocol version mismatch
 * ({@link #failure()} says why). Thread-safe.
 *
 * <p>Design notes: all task bookkeeping lives in {@link WorkerState}, driven under one lock
 * by gRPC callbacks, slot threads and timers alike; the commands it returns are applied
 * under the same lock (they only enqueue, interrupt or schedule), then the stream is flushed
 * outside it. Sends are appended under the lock so a task's started always precedes its
 * result.
 */
public final class WorkerDaemon implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WorkerDaemon.class.getName());
    /** How long to wait for the coordinator to close its side after the drained worker half-closes. */
    private static final long CLOSE_GRACE_MS = 5_000;
    /**
     * A task's started notice waits at most this long for its result to share a message with
     * (most tasks end sooner: then one message says both, and the coordinator drops the
     * notice). Past it the notice goes alone, so a long task is still seen running soon. With
     * its own transport thread the notice waits for that thread's next wake-up instead
     * (TransportLoop.WAKE_MS): arming a timer per task woke the timer thread twice per task.
     */
    private static final long STARTED_LINGER_MICROS = 500;

    private final WorkerConfig config;
    private final Channel channel;
    private final ManagedChannel ownedChannel;
    /** The network thread of {@link #ownedChannel}; null with a channel the caller owns. */
    private final TransportLoop ownedTransport;
    private final WorkerServiceGrpc.WorkerServiceStub stub;
    private final TaskRunner runner;
    /** Shipped bundles and their loaders. */
    private final WorkerCode code;
    private final WorkerState state;   // guarded by itself
    private final Slot[] slots;
    private final Children children;
    private final Processes processes;
    private final ScheduledThreadPoolExecutor timers;
    private final CompletableFuture<String> attached = new CompletableFuture<>();
    private final CompletableFuture<Integer> termination = new CompletableFuture<>();
    private final AtomicBoolean drainRequested = new AtomicBoolean();
    private final AtomicInteger connects = new AtomicInteger();
    /** A flush of lingering started notices is scheduled. */
    private final AtomicBoolean startedFlushDue = new AtomicBoolean();
    private Attachment current;   // guarded by state
    private volatile String workerId;
    private volatile long backoffMs;
    private volatile int failedInARow;   // written by stream callbacks, which never overlap
    private volatile boolean stopping;
    private volatile String failure;

    private WorkerDaemon(WorkerConfig config, Channel channel, ManagedChannel ownedChannel, TransportLoop ownedTransport) {
        this.config = config;
        this.channel = channel;
        this.ownedChannel = ownedChannel;
        this.ownedTransport = ownedTransport;
        this.stub = WorkerServiceGrpc.newStub(channel)
                .withOnReadyThreshold(1)   // see DESIGN.md: small messages must see "not ready"
                .withMaxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES)
                .withMaxOutboundMessageSize(Protocol.MAX_MESSAGE_BYTES);
        this.code = WorkerCode.open(config, channel);
        this.runner = new TaskRunner(config.codec(), config.classLoader(), channel, code.loaders());
        this.state = new WorkerState(config.slots(), config.workerId());
        this.workerId = config.workerId();
        this.backoffMs = config.initialBackoff().toMillis();
        this.timers = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "cohort-worker-timer");
            t.setDaemon(true);
            return t;
        });
        timers.setRemoveOnCancelPolicy(true);
        timers.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.children = new Children(config, runner, System::currentTimeMillis);
        this.processes = new Processes(config, runner, timers, this::report);
        Slot.Owner owner = new SlotOwner();
        this.slots = new Slot[config.slots()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot(i, owner, "cohort-task-");
        }
        if (ownedTransport != null) {
            ownedTransport.onTick(this::flushLingering);
        }
    }

    /** Sends the started notices left to linger, if any (see {@link #began}). */
    private void flushLingering() {
        if (startedFlushDue.compareAndSet(true, false)) {
            Attachment a;
            synchronized (state) {
                a = current;
            }
            if (a != null) {
                a.flush();
            }
        }
    }

    /** Starts a daemon with its own channel to {@link WorkerConfig#coordinator()}, secured per {@link WorkerConfig#security()}. */
    public static WorkerDaemon start(WorkerConfig config) {
        return start(config, SlotMeter.NONE);
    }

    /** As {@link #start(WorkerConfig)}, telling {@code meter} of each task run and {@code interceptors} of each call. */
    public static WorkerDaemon start(WorkerConfig config, SlotMeter meter, io.grpc.ClientInterceptor... interceptors) {
        TransportLoop transport = new TransportLoop();
        ManagedChannel ch = transport.apply(config.security().channelBuilder(config.coordinator()))
                .intercept(interceptors)
                // Stream callbacks only enqueue under the state lock and hand tasks to slot
                // threads: running them on the transport thread saves a thread hand-off per
                // message (tens of us here, DESIGN.md).
                .directExecutor()
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES)
                .build();
        WorkerDaemon d = new WorkerDaemon(config, ch, ch, transport);
        d.meter = meter;
        return launch(d);
    }

    /**
     * Starts a daemon over a channel the caller owns (and shuts down after the daemon ends);
     * {@link WorkerConfig#coordinator()} then only names it in messages.
     */
    public static WorkerDaemon start(WorkerConfig config, Channel channel) {
        return launch(new WorkerDaemon(config, channel, null, null));
    }

    private static WorkerDaemon launch(WorkerDaemon d) {
        for (Slot s : d.slots) {
            s.start();
        }
        d.timers.execute(d::connect);
        d.timers.scheduleWithFixedDelay(d.children::reapIdle, Children.IDLE_MS / 4, Children.IDLE_MS / 4,
                TimeUnit.MILLISECONDS);
        return d;
    }

    public WorkerConfig config() {
        return config;
    }

    /** Completes with the worker id on the first welcome. */
    /** Function definitions the worker holds now (tests). */
    int functionsHeld() {
        return runner.functionsHeld();
    }

    public CompletableFuture<String> attached() {
        return attached;
    }

    /** The id the coordinator knows this worker by (the requested one before the first welcome). */
    public String workerId() {
        return workerId;
    }

    /** Completes with the exit status once the daemon has stopped: 0 drained or closed, 1 fatal. */
    public CompletableFuture<Integer> termination() {
        return termination;
    }

    /** Why the daemon stopped on its own, if it did. */
    public Optional<String> failure() {
        return Optional.ofNullable(failure);
    }

    /**
     * Stops gracefully: tells the coordinator, hands back tasks not yet started, lets running
     * ones finish within {@link WorkerConfig#drainTimeout()} (then interrupts them and reports
     * them cancelled), closes the stream. Idempotent; returns {@link #termination()}.
     */
    public CompletableFuture<Integer> drain() {
        if (drainRequested.compareAndSet(false, true) && !termination.isDone()) {
            LOG.log(Level.INFO, "worker {0} draining", workerId);
            dispatch(null, List.of(new WorkerState.DrainRequested()));
            schedule(() -> dispatch(null, List.of(new WorkerState.DrainTimedOut())),
                    config.drainTimeout().toMillis());
        }
        return termination;
    }

    /**
     * The JVM is ending under the daemon (a task called System.exit): cancels the stream and
     * closes the connection now, waiting at most {@code wait} for it. The coordinator then counts
     * this worker lost at once; HotSpot may take seconds more to end the process (it waits for
     * running compilations).
     */
    void abandon(java.time.Duration wait) {
        terminate(1, "the JVM is exiting (System.exit in a task, or a signal)");
        if (ownedChannel != null) {
            try {
                ownedChannel.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Stops at once: running tasks are interrupted and the stream cancelled. Idempotent. */
    @Override
    public void close() {
        terminate(0, null);
    }

    // ---- the stream ----

    private void connect() {
        if (stopping) {
            return;
        }
        Attachment a = new Attachment(new Listener());
        synchronized (state) {
            if (drainRequested.get()) {
                return;   // a drain with no stream has already ended the daemon
            }
            current = a;
        }
        connects.incrementAndGet();
        try {
            // Assigns parsed with their arguments pointing into the message's buffer, not copied again.
            io.grpc.stub.ClientCalls.asyncBidiStreamingCall(channel.newCall(
                    io.cohort.common.AliasingParse.of(WorkerServiceGrpc.getAttachMethod()), stub.getCallOptions()), a);
            a.hello(hello());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cannot attach to " + config.coordinator(), e);
            a.onError(e);
        }
    }

    private WorkerHello hello() {
        return WorkerHello.newBuilder()
                .setProtocolVersion(Protocol.VERSION)
                .setWorkerId(workerId)
                .setHost(config.host())
                .setPid(ProcessHandle.current().pid())
                .setSlots(config.slots())
                .setPrefetch(config.prefetch())
                .setMaxPrefetch(config.maxPrefetch())
                .putAllResources(config.resources())
                .addAllLabels(config.labels())
                .setHeartbeatIntervalMs(config.heartbeatInterval().map(d -> (int) d.toMillis()).orElse(0))
                .build();
    }

    private final class Listener implements Attachment.Listener {
        @Override
        public void onResponse(Attachment a, AttachResponse response) {
            List<Event> events = new ArrayList<>(3);
            if (!a.welcomed) {
                if (!response.hasWelcome()) {
                    a.cancel("the coordinator's first message had no welcome");
                    return;
                }
                WorkerWelcome welcome = response.getWelcome();
                if (welcome.getProtocolVersion() != Protocol.VERSION) {
                    fatal("the coordinator speaks protocol version " + welcome.getProtocolVersion()
                            + ", this worker " + Protocol.VERSION + "; run the same Cohort version on both");
                    return;
                }
                a.welcomed = true;
                welcomed(a, welcome);
                events.add(new WorkerState.Welcomed(welcome.getWorkerId()));
            }
            if (response.getFunctionsCount() > 0 || response.getForgetFunctionsCount() > 0) {
                // Forgotten first: a function sent again in the same message stays.
                runner.forget(response.getForgetFunctionsList());
                List<com.google.protobuf.ByteString> digests = new ArrayList<>(response.getFunctionsCount());
                for (FunctionDef f : response.getFunctionsList()) {
                    runner.define(f);
                    digests.add(f.getDigest());
                }
                events.add(new WorkerState.FunctionsDefined(response.getForgetFunctionsList(), digests));
            }
            List<TaskAssign> assigns;
            try {
                assigns = ColumnBatches.assigns(response);
            } catch (IllegalArgumentException e) {
                a.cancel(e.getMessage());   // the stream ends; the coordinator counts this worker lost
                return;
            }
            List<TaskAssign> forSlots = new ArrayList<>(assigns.size());
            for (TaskAssign t : assigns) {
                if (Processes.isProcess(t)) {
                    processes.start(t, workerId);   // holds no slot: the slot state never sees it
                } else {
                    forSlots.add(t);
                }
            }
            if (!forSlots.isEmpty()) {
                events.add(new WorkerState.Assigned(forSlots));
            }
            for (TaskCancelOrder c : response.getCancelsList()) {
                if (processes.owns(c)) {
                    processes.signal(c);
                } else {
                    events.add(new WorkerState.CancelOrdered(c));
                }
            }
            dispatch(a, events);
        }

        @Override
        public void onEnd(Attachment a, Status status) {
            streamEnded(a, status);
        }
    }

    private void welcomed(Attachment a, WorkerWelcome welcome) {
        workerId = welcome.getWorkerId();
        TaskContext.installCoordinator(channel, workerId, config.codec());   // for shared-object handles inside tasks
        backoffMs = config.initialBackoff().toMillis();
        failedInARow = 0;
        long intervalMs = config.heartbeatInterval().map(java.time.Duration::toMillis)
                .orElse(Math.max(1L, welcome.getHeartbeatTimeoutMs() / 4L));
        if (welcome.getHeartbeatTimeoutMs() > 0 || config.heartbeatInterval().isPresent()) {
            long idleNanos = TimeUnit.MILLISECONDS.toNanos(intervalMs);
            long period = Math.max(1L, intervalMs / 2);
            try {
                a.heartbeat(timers.scheduleWithFixedDelay(() -> a.heartbeatIfIdle(idleNanos),
                        period, period, TimeUnit.MILLISECONDS));
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                // the daemon is stopping
            }
        }
        if (attached.complete(workerId)) {
            LOG.log(Level.INFO, "worker {0} attached to {1}", workerId, config.coordinator());
        } else {
            LOG.log(Level.INFO, "worker {0} re-attached to {1}", workerId, config.coordinator());
        }
    }

    private void streamEnded(Attachment a, Status status) {
        boolean wasCurrent;
        synchronized (state) {
            wasCurrent = current == a;
            if (wasCurrent) {
                current = null;
                apply(state.handle(new WorkerState.StreamLost(status.getCode() + " "
                        + (status.getDescription() == null ? "" : status.getDescription()))));
            }
        }
        if (!wasCurrent || stopping) {
            return;
        }
        processes.close();   // the coordinator has given them up with the stream
        runner.clearFunctions();
        if (drainRequested.get()) {
            terminate(0, null);   // drained (or the stream broke mid-drain): nothing left to report
            return;
        }
        failedInARow++;
        String why = status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
        switch (status.getCode()) {
            case FAILED_PRECONDITION, UNAUTHENTICATED, PERMISSION_DENIED -> {
                // Retrying cannot help: the version or the credentials are wrong.
                fatal("the coordinator at " + config.coordinator() + " refused this worker: " + why);
                return;
            }
            case ALREADY_EXISTS -> LOG.log(Level.WARNING, "worker id '" + workerId
                    + "' is in use at " + config.coordinator() + " (" + why + "); retrying, it may be"
                    + " this worker's previous stream not yet noticed as lost");
            case INVALID_ARGUMENT -> LOG.log(Level.ERROR, "the coordinator rejected a message from this worker: "
                    + why + "; reconnecting");
            default -> LOG.log(failedInARow == 1 || failedInARow % 20 == 0 ? Level.WARNING : Level.DEBUG,
                    "stream to " + config.coordinator() + " ended (" + why + "); reconnecting");
        }
        long delay = backoffMs;
        backoffMs = Math.min(delay * 2, config.maxBackoff().toMillis());
        long jittered = (long) (delay * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble()));
        schedule(this::connect, Math.max(1, jittered));
    }

    private void fatal(String message) {
        LOG.log(Level.ERROR, message);
        terminate(1, message);
    }

    // ---- the state machine ----

    private void dispatch(Attachment from, List<Event> events) {
        Attachment a = applyAll(from, events);
        if (a != null) {
            a.flush();
        }
    }

    /** Applies the events under the state lock; returns the current stream (null if none or {@code from} is stale). */
    private Attachment applyAll(Attachment from, List<Event> events) {
        synchronized (state) {
            if (from != null && from != current) {
                return null;   // a late message from a stream already given up
            }
            for (Event e : events) {
                apply(state.handle(e));
            }
            return current;
        }
    }

    /**
     * A slot began a run: its started notice lingers (adaptive batching) until the next flush,
     * at the latest the transport thread's next wake-up (or {@link #STARTED_LINGER_MICROS} from
     * now without one), so a short task's notice travels with its result instead of in a message
     * of its own.
     */
    private void began(int slot, long runId) {
        if (applyAll(null, List.of(new WorkerState.Began(slot, runId))) != null
                && startedFlushDue.compareAndSet(false, true) && ownedTransport == null) {
            try {
                timers.schedule(this::flushLingering, STARTED_LINGER_MICROS, TimeUnit.MICROSECONDS);
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                startedFlushDue.set(false);   // the daemon is stopping
            }
        }
    }

    /** Carries out commands; called holding the state lock, so nothing here may block. */
    private void apply(List<Command> commands) {
        for (Command c : commands) {
            if (c instanceof WorkerState.StartTask s) {
                slots[s.slot()].submit(s.runId(), s.assign());
            } else if (c instanceof WorkerState.SendResult r) {
                if (current != null) {
                    current.enqueueResult(r.result());
                }
            } else if (c instanceof WorkerState.SendStarted s) {
                if (current != null) {
                    current.enqueueStarted(s.started());
                }
            } else if (c instanceof WorkerState.Interrupt i) {
                slots[i.slot()].interrupt(i.runId());
            } else if (c instanceof WorkerState.ArmTimeout t) {
                slots[t.slot()].timer(schedule(
                        () -> dispatch(null, List.of(new WorkerState.TimedOut(t.slot(), t.runId()))),
                        t.timeoutMs()));
            } else if (c instanceof WorkerState.SendDraining) {
                if (current != null) {
                    current.enqueueDraining();
                }
            } else if (c instanceof WorkerState.CloseStream) {
                closeStream();
            }
        }
    }

    private void closeStream() {
        Attachment a = current;
        if (a == null) {
            timers.execute(() -> terminate(0, null));
            return;
        }
        // finished once the coordinator closes its side (streamEnded), or after a grace period
        schedule(() -> terminate(0, null), CLOSE_GRACE_MS);
        a.closeWhenFlushed();
    }

    private java.util.concurrent.ScheduledFuture<?> schedule(Runnable r, long delayMs) {
        try {
            return timers.schedule(r, delayMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            return null;
        }
    }

    private void terminate(int status, String why) {
        Attachment a;
        synchronized (state) {
            if (stopping) {
                return;
            }
            stopping = true;
            a = current;
            current = null;
        }
        if (why != null) {
            failure = why;
        }
        if (a != null) {
            a.cancel(status == 0 ? "worker stopped" : why);
        }
        for (Slot s : slots) {
            s.stop();
        }
        processes.close();
        children.close();
        runner.clearFunctions();
        code.close();
        timers.shutdown();
        if (ownedChannel != null) {
            ownedChannel.shutdownNow();
            ownedTransport.close();
        }
        attached.completeExceptionally(new IllegalStateException(
                why != null ? why : "the worker stopped before it attached"));
        termination.complete(status);
    }

    /** The names of the shipped bundles in this worker's cache (tests). */
    public java.util.Set<String> cachedBundles() {
        return code.cache().held();
    }

    /** Sends a report of a process task on the current stream, if there is one. */
    private void report(com.google.protobuf.MessageLite item) {
        Attachment a;
        synchronized (state) {
            a = current;
            if (a != null) {
                a.enqueue(item);
            }
        }
        if (a != null) {
            a.flush();
        }
    }

    /** Pids of the child JVMs running pool tasks (for tests). */
    List<Long> childPids() {
        return children.pids();
    }

    /** Number of attach attempts so far (for tests). */
    int connectAttempts() {
        return connects.get();
    }

    /** Set before the daemon starts. */
    private volatile SlotMeter meter = SlotMeter.NONE;

    private final class SlotOwner implements Slot.Owner {
        @Override
        public void began(int slot, long runId) {
            WorkerDaemon.this.began(slot, runId);
        }

        @Override
        public void finished(int slot, long runId, WorkerTaskResult outcome) {
            dispatch(null, List.of(new WorkerState.Finished(slot, runId, outcome)));
        }

        @Override
        public WorkerTaskResult execute(TaskAssign assign) {
            SlotMeter m = meter;
            m.began();
            WorkerTaskResult result;
            try {
                long start = System.nanoTime();
                result = assign.getSpec().getIsolation() == Isolation.PROCESS
                        ? children.run(assign, workerId) : runner.run(assign, workerId);
                result = result.toBuilder().setRunNanos(Math.max(1, System.nanoTime() - start)).build();
            } catch (Throwable e) {
                result = WorkerTaskResult.newBuilder().setTaskKey(assign.getTaskKey()).setAttempt(assign.getAttempt())
                        .setStatus(TaskStatus.FAILED)
                        .setError(TaskErrors.plain(e.getClass().getName(), String.valueOf(e.getMessage()), workerId))
                        .build();
            }
            m.finished(result);
            return result;
        }

        @Override
        public ClassLoader loader() {
            return runner.loader();
        }
    }
}
