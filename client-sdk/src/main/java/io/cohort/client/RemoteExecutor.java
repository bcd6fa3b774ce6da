package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.StatusRequest;
import io.cohort.proto.v1.SharedOpenResponse;
import io.cohort.proto.v1.SharedType;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.WorkerStatus;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The executor behind {@link Cohort#connect} and {@link Cohort#local}. */
final class RemoteExecutor implements CohortExecutor {
    private final Session session;
    private final ExecutorService ownCallbacks;   // null when the user gave one
    private final Duration rpcTimeout;
    private final AutoCloseable cluster;          // the embedded cluster of Cohort.local, or null
    private final Object lifecycle = new Object();
    private volatile boolean shutdown;
    private final java.util.concurrent.CountDownLatch shutdownRequested = new java.util.concurrent.CountDownLatch(1);
    private boolean closed;                        // guarded by lifecycle

    RemoteExecutor(Session session, ExecutorService ownCallbacks, Duration rpcTimeout, AutoCloseable cluster) {
        this.session = session;
        this.ownCallbacks = ownCallbacks;
        this.rpcTimeout = rpcTimeout;
        this.cluster = cluster;
    }

    /** The coordinator's "host:port". */
    String target() {
        return session.target();
    }

    /** For another client of this executor's cluster: its target and, for {@code Cohort.local}, its client token. */
    ClientConfig.Builder anotherClient() {
        ClientConfig.Builder b = ClientConfig.builder().target(target());
        if (cluster instanceof LocalCluster local) {
            b.authToken(local.clientToken());
        }
        return b;
    }

    // ---- submit ----

    @Override
    public <T> TaskFuture<T> submit(RemoteCallable<T> task) {
        return submit(task, TaskOptions.DEFAULTS);
    }

    @Override
    public <T> TaskFuture<T> submit(RemoteCallable<T> task, TaskOptions options) {
        return submitBody(TaskBodies.of(task), options, asRunnable(task));
    }

    @Override
    public TaskFuture<Void> submit(RemoteRunnable task) {
        return submitBody(TaskBodies.of(task), TaskOptions.DEFAULTS, task);
    }

    @Override
    public <A, R> TaskFuture<R> submit(RemoteFunction<A, R> fn, A input) {
        return submit(fn, input, TaskOptions.DEFAULTS);
    }

    @Override
    public <A, R> TaskFuture<R> submit(RemoteFunction<A, R> fn, A input, TaskOptions options) {
        return submitShaped(fn, input, options, spec -> { });
    }

    /**
     * {@code submit(fn, input, options)} with {@code shape} setting further fields of the spec
     * (isolation, process): how pools and processes reach the wire.
     */
    <A, R> TaskFuture<R> submitShaped(RemoteFunction<A, R> fn, A input, TaskOptions options,
                                      java.util.function.Consumer<TaskSpec.Builder> shape) {
        checkOpen();
        FunctionDef function = session.function(fn, TaskBodies.of(fn));
        TaskSpec.Builder spec = TaskSpec.newBuilder().setFunctionDigest(function.getDigest())
                .setArgument(session.encodeArgument(input));
        shape.accept(spec);
        return session.submit(spec.build(), Policies.of(options), false, () -> apply(fn, input), function);
    }

    @Override
    public <T> TaskFuture<T> submit(Callable<T> task) {
        return submitBody(TaskBodies.of(task), TaskOptions.DEFAULTS, asRunnable(task));
    }

    @Override
    public TaskFuture<?> submit(Runnable task) {
        return submitBody(TaskBodies.of(task), TaskOptions.DEFAULTS, task);
    }

    @Override
    public <T> TaskFuture<T> submit(Runnable task, T result) {
        TaskBodies.requireSerializable(task);
        RemoteCallable<T> withResult = () -> {
            task.run();
            return result;
        };
        return submit(withResult);
    }

    @Override
    public void execute(Runnable command) {
        submit(command);
    }

    private <T> TaskFuture<T> submitBody(TaskBody body, TaskOptions options, Runnable original) {
        checkOpen();
        TaskSpec spec = TaskSpec.newBuilder().setBody(session.encodeBody(body)).build();
        return session.submit(spec, Policies.of(options), false, original);
    }

    private void checkOpen() {
        if (shutdown) {
            throw new RejectedExecutionException("the executor is shut down");
        }
    }

    private static Runnable asRunnable(Callable<?> task) {
        return () -> {
            try {
                task.call();
            } catch (Exception e) {
                throw new CohortException("task threw", e);
            }
        };
    }

    private static <A, R> void apply(RemoteFunction<A, R> fn, A input) {
        try {
            fn.apply(input);
        } catch (Exception e) {
            throw new CohortException("task threw", e);
        }
    }

    // ---- map ----

    /** At most 10 progress callbacks a second. */
    private static final long PROGRESS_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    @Override
    public <A, R> MapResult<R> map(RemoteFunction<A, R> fn, Iterable<? extends A> inputs) {
        return map(fn, inputs, MapOptions.DEFAULTS);
    }

    @Override
    public <A, R> MapResult<R> map(RemoteFunction<A, R> fn, Iterable<? extends A> inputs, MapOptions options) {
        return mapWith(fn, inputs, options, 0, spec -> { }, direct);
    }

    /** How the units of a map reach the session: at once, or through a pool's admission. */
    interface Admission {
        TaskFuture<Object> admit(java.util.function.Supplier<TaskFuture<Object>> launch);

        void cancelNotStarted(List<TaskFuture<Object>> units);
    }

    private final Admission direct = new Admission() {
        @Override
        public TaskFuture<Object> admit(java.util.function.Supplier<TaskFuture<Object>> launch) {
            return launch.get();
        }

        @Override
        public void cancelNotStarted(List<TaskFuture<Object>> units) {
            session.removeIfNotStarted(units);
        }
    };

    /**
     * {@code map} with the parallelism its automatic chunking divides by (0: the cluster's
     * slots), {@code shape} setting further spec fields and {@code admission} deciding when
     * each unit is sent.
     */
    <A, R> MapResult<R> mapWith(RemoteFunction<A, R> fn, Iterable<? extends A> inputs, MapOptions options,
                                int parallelism, java.util.function.Consumer<TaskSpec.Builder> shape,
                                Admission admission) {
        checkOpen();
        long start = System.nanoTime();
        FunctionDef function = session.function(fn, TaskBodies.of(fn));
        ByteString digest = function.getDigest();
        TaskPolicy policy = Policies.of(options.taskOptions());
        OptionalInt userChunk = options.chunkSize();
        OptionalInt userBuffer = options.bufferSize();
        int slots = parallelism > 0 ? parallelism
                : userChunk.isPresent() && userBuffer.isPresent() ? 1 : slotsHint();
        int buffer = userBuffer.orElse(userChunk.isPresent()
                ? (int) Math.min(Integer.MAX_VALUE, (long) userChunk.getAsInt() * slots * ChunkSizer.UNITS_PER_SLOT)
                : ChunkSizer.defaultBuffer(slots));
        // a user's chunk size wins; otherwise sizes follow the cluster and the observed latency
        ChunkSizer sizer = userChunk.isPresent() ? null
                : new ChunkSizer(slots, inputs instanceof Collection<?> c ? c.size() : -1, buffer);
        // a buffer that holds everything sends everything at once (what mapAsync counts on)
        int maxUnitsOut = buffer == Integer.MAX_VALUE ? Integer.MAX_VALUE : slots * ChunkSizer.UNITS_PER_SLOT;
        long deadline = options.timeout().map(t -> start + t.toNanos()).orElse(Long.MAX_VALUE);
        MapResult.UnitSender sender = new MapResult.UnitSender() {
            @Override
            public MapResult.Sent send(Object[] unit) {
                TaskSpec.Builder spec = TaskSpec.newBuilder().setFunctionDigest(digest);
                boolean single = unit.length == 1;
                ByteString argument = session.encodeArgument(single ? unit[0] : unit);
                spec.setArgument(argument).setChunk(!single);
                shape.accept(spec);
                TaskSpec built = spec.build();
                return new MapResult.Sent(admission.admit(() -> {
                    checkOpen();
                    return session.submit(built, policy, !single, null, function);
                }), argument.size());
            }

            @Override
            public void cancelNotStarted(List<TaskFuture<Object>> units) {
                admission.cancelNotStarted(units);
            }
        };
        ProgressBar bar = options.showProgress() ? ProgressBar.onStdout() : null;
        ProgressTracker progress = progress(options, inputs instanceof Collection<?> c ? c.size() : -1, bar);
        return new MapResult<>(inputs.iterator(), sender, userChunk.orElse(0), sizer, maxUnitsOut,
                Math.max(1, buffer), deadline, options.ordered(), progress, bar);
    }

    /** A map's progress counter, reporting to the callback and the bar its options ask for. */
    private ProgressTracker progress(MapOptions options, long total, ProgressBar bar) {
        List<ProgressReporter> reporters = new ArrayList<>();
        options.onProgress().ifPresent(callback -> reporters.add(
                ProgressReporter.on(session.callbacks(), callback, PROGRESS_INTERVAL_NANOS)));
        if (bar != null) {
            reporters.add(ProgressReporter.on(session.callbacks(), bar::show, ProgressBar.REDRAW_INTERVAL_NANOS));
        }
        ProgressTracker.Listener listener = reporters.stream().<ProgressTracker.Listener>map(r -> r)
                .reduce(ProgressTracker.Listener::both).orElse(ProgressTracker.Listener.NONE);
        ProgressTracker tracker = new ProgressTracker(System::nanoTime, total, listener);
        reporters.forEach(r -> r.watch(tracker));
        return tracker;
    }

    /** The executor's session: pools reach its callback executor and cancels through it. */
    Session session() {
        return session;
    }

    // ---- multiprocessing ----

    @Override
    public CohortPool pool(PoolOptions options) {
        checkOpen();
        return new RemotePool(this, options);
    }

    /** The cluster's slots; for a local cluster at least its configured ones, as some may still be attaching. */
    int totalSlots() {
        int attached = clusterInfo().totalSlots();
        if (cluster instanceof LocalCluster local) {
            attached = Math.max(attached, local.totalSlots());
        }
        return Math.max(1, attached);
    }

    /** How long a map may size its chunks by a slot count read earlier. */
    private static final long SLOTS_HINT_NANOS = 1_000_000_000L;
    private volatile long[] slotsHint;   // {slots, when read}

    /**
     * The cluster's slots as a sizing hint for map: read at most once a second, as a status
     * round trip costs as much as a whole map of small tasks.
     */
    private int slotsHint() {
        long[] hint = slotsHint;
        long now = System.nanoTime();
        if (hint != null && now - hint[1] < SLOTS_HINT_NANOS) {
            return (int) hint[0];
        }
        int slots = totalSlots();   // a local cluster's configured slots, even while some attach
        slotsHint = new long[] {slots, now};
        return slots;
    }

    // ---- processes ----

    private final java.util.concurrent.atomic.AtomicInteger processCounter = new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public CohortProcess process(RemoteRunnable target) {
        return process(target, ProcessOptions.DEFAULTS);
    }

    /** A process task: it runs once (max_retries 0) and is placed like a task but holds no slot. */
    @Override
    public CohortProcess process(RemoteRunnable target, ProcessOptions options) {
        checkOpen();
        // Numbered on every creation, like Python's Process-N.
        String generated = "Process-" + processCounter.incrementAndGet();
        String name = options.name().orElse(generated);
        TaskSpec spec = TaskSpec.newBuilder().setBody(session.encodeBody(TaskBodies.of(target)))
                .setProcess(io.cohort.proto.v1.ProcessSpec.newBuilder().setName(name)
                        .addAllJvmOptions(options.jvmOptions()))
                .build();
        TaskPolicy policy = Policies.of(TaskOptions.builder().maxRetries(0).name(name)
                .resources(options.resources()).labels(options.labels()).build());
        return new RemoteProcess(session, name, spec, policy);
    }

    // ---- lifecycle ----

    @Override
    public void shutdown(boolean wait, boolean cancelFutures) {
        shutdown = true;
        shutdownRequested.countDown();
        if (cancelFutures) {
            session.removeIfNotStarted(List.copyOf(session.pending()));
        }
        if (wait) {
            try {
                session.awaitIdle(Long.MAX_VALUE);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void shutdown() {
        shutdown(false, false);
    }

    @Override
    public List<Runnable> shutdownNow() {
        shutdown = true;
        shutdownRequested.countDown();
        List<Runnable> neverStarted = new ArrayList<>();
        for (TaskFuture<?> f : List.copyOf(session.pending())) {
            boolean wasRunning = f.isRunning();
            if (f.cancel(true) && !wasRunning && f.original != null) {
                neverStarted.add(f.original);
            }
        }
        return neverStarted;
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return shutdown && session.isIdle();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        // Java's contract: termination needs a shutdown request first.
        if (!shutdownRequested.await(unit.toNanos(timeout), TimeUnit.NANOSECONDS)) {
            return false;
        }
        return session.awaitIdle(deadline);
    }

    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
        }
        shutdown(true, false);
        session.close();
        if (ownCallbacks != null) {
            ownCallbacks.shutdown();
        }
        if (cluster != null) {
            try {
                cluster.close();
            } catch (Exception e) {
                throw new CohortException("stopping the local cluster failed", e);
            }
        }
    }

    // ---- invokeAll / invokeAny ----

    @Override
    public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks) throws InterruptedException {
        List<Future<T>> futures = submitAll(tasks);
        for (Future<T> f : futures) {
            try {
                f.get();
            } catch (ExecutionException | CancellationException ignored) {
                // the caller inspects each future
            }
        }
        return futures;
    }

    @Override
    public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
            throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        List<Future<T>> futures = submitAll(tasks);
        for (Future<T> f : futures) {
            try {
                f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException | CancellationException ignored) {
                // the caller inspects each future
            } catch (TimeoutException e) {
                futures.forEach(x -> x.cancel(true));
                break;
            }
        }
        return futures;
    }

    @Override
    public <T> T invokeAny(Collection<? extends Callable<T>> tasks) throws InterruptedException, ExecutionException {
        try {
            return invokeAny(tasks, Long.MAX_VALUE, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("no limit was set", e);
        }
    }

    @Override
    public <T> T invokeAny(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
            throws InterruptedException, ExecutionException, TimeoutException {
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("no tasks");
        }
        List<TaskFuture<T>> futures = new ArrayList<>();
        for (Callable<T> t : tasks) {
            futures.add(submit(t));
        }
        Duration limit = unit.toNanos(timeout) == Long.MAX_VALUE ? null : Duration.ofNanos(unit.toNanos(timeout));
        try {
            ExecutionException last = null;
            HashSet<TaskFuture<T>> left = new HashSet<>(futures);
            for (TaskFuture<T> f : Futures.asCompleted(futures, limit)) {
                left.remove(f);
                try {
                    return f.get();
                } catch (ExecutionException e) {
                    last = e;
                } catch (CancellationException e) {
                    last = new ExecutionException("task was cancelled", e);
                }
            }
            throw last;
        } catch (CohortTimeoutException e) {
            throw new TimeoutException("no task completed within " + timeout + " " + unit);
        } finally {
            futures.forEach(f -> f.cancel(true));
        }
    }

    private <T> List<Future<T>> submitAll(Collection<? extends Callable<T>> tasks) {
        List<Future<T>> futures = new ArrayList<>(tasks.size());
        for (Callable<T> t : tasks) {
            futures.add(submit(t));
        }
        return futures;
    }

    // ---- cluster view ----

    @Override
    public ClusterInfo clusterInfo() {
        StatusResponse status;
        try {
            status = AdminServiceGrpc.newBlockingStub(session.channel())
                    .withDeadlineAfter(rpcTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    .status(StatusRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            throw new CohortException("cannot read the cluster status from " + session.target() + ": "
                    + e.getStatus(), e);
        }
        List<WorkerInfo> workers = new ArrayList<>(status.getWorkersCount());
        for (WorkerStatus w : status.getWorkersList()) {
            workers.add(new WorkerInfo(w.getId(), w.getHost(), w.getPid(), w.getSlots(), w.getBusySlots(),
                    w.getResourcesMap(), new java.util.LinkedHashSet<>(w.getLabelsList()), switch (w.getState()) {
                        case DRAINING -> WorkerState.DRAINING;
                        case LOST -> WorkerState.LOST;
                        default -> WorkerState.ACTIVE;
                    }));
        }
        return new ClusterInfo(workers, status.getQueuedTasks(), status.getRunningTasks(), status.getCompletedTasks());
    }

    // ---- shared objects ----

    private volatile SharedClient shared;

    private SharedRef openShared(String name, SharedType type, long longArg, double doubleArg) {
        java.util.Objects.requireNonNull(name, "name");
        SharedClient c = shared;
        if (c == null) {
            c = SharedClient.forSession(session.channel(), session.codec(), session.loader());
            shared = c;
        }
        String sessionId = session.sessionId();
        SharedOpenResponse r = c.open(sessionId, name, type, longArg, doubleArg);
        return new SharedRef(sessionId, name, type, r.getObjectId(), r.getSize(), c);
    }

    @Override
    public SharedLong sharedLong(String name, long initial) {
        return new SharedLong(openShared(name, SharedType.SHARED_LONG, initial, 0));
    }

    @Override
    public SharedDouble sharedDouble(String name, double initial) {
        return new SharedDouble(openShared(name, SharedType.SHARED_DOUBLE, 0, initial));
    }

    @Override
    public SharedLongArray sharedLongArray(String name, int length) {
        return new SharedLongArray(openShared(name, SharedType.SHARED_LONG_ARRAY, length, 0));
    }

    @Override
    public SharedDoubleArray sharedDoubleArray(String name, int length) {
        return new SharedDoubleArray(openShared(name, SharedType.SHARED_DOUBLE_ARRAY, length, 0));
    }

    @Override
    public <K, V> SharedMap<K, V> sharedMap(String name) {
        return new SharedMap<>(openShared(name, SharedType.SHARED_MAP, 0, 0));
    }

    @Override
    public <T> SharedList<T> sharedList(String name) {
        return new SharedList<>(openShared(name, SharedType.SHARED_LIST, 0, 0));
    }

    @Override
    public <T> SharedQueue<T> sharedQueue(String name, int capacity) {
        return new SharedQueue<>(openShared(name, SharedType.SHARED_QUEUE, capacity, 0));
    }

    @Override
    public SharedLock sharedLock(String name) {
        return new SharedLock(openShared(name, SharedType.SHARED_LOCK, 0, 0));
    }

    @Override
    public SharedEvent sharedEvent(String name) {
        return new SharedEvent(openShared(name, SharedType.SHARED_EVENT, 0, 0));
    }

    @Override
    public SharedBarrier sharedBarrier(String name, int parties) {
        return new SharedBarrier(openShared(name, SharedType.SHARED_BARRIER, parties, 0));
    }
}
