package io.cohort.client;

import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import io.cohort.proto.v1.TaskSpec;

/**
 * The pool behind {@link CohortExecutor#pool}: the executor's session, with at most
 * {@code processes} of the pool's tasks sent to the cluster at a time. The rest wait here, in
 * order, as futures that are not yet bound to a task.
 */
final class RemotePool implements CohortPool {
    private final RemoteExecutor executor;
    private final String id = UUID.randomUUID().toString();
    private final PoolOptions options;
    private final int processes;                         // Integer.MAX_VALUE: the cluster bounds it
    private final Consumer<TaskSpec.Builder> shape;
    private final AtomicLong nextFutureId = new AtomicLong();
    private final Object lock = new Object();
    private final ArrayDeque<PoolFuture<?>> waiting = new ArrayDeque<>();     // guarded by lock
    private final Set<PoolFuture<?>> outstanding = new HashSet<>();            // guarded by lock
    private int launched;                                                       // guarded by lock
    private volatile boolean shutdown;
    private volatile boolean terminated;

    RemotePool(RemoteExecutor executor, PoolOptions options) {
        this.executor = executor;
        this.options = options;
        this.processes = options.processes().orElse(Integer.MAX_VALUE);
        if (options.isolation() == Isolation.PROCESS) {
            int perChild = options.maxTasksPerChild().orElse(0);
            shape = spec -> spec.setIsolation(io.cohort.proto.v1.Isolation.PROCESS)
                    .setIsolationGroup(id).setMaxTasksPerChild(perChild);
        } else {
            shape = spec -> { };
        }
    }

    // ---- one task at a time ----

    @Override
    public <A, R> R apply(RemoteFunction<A, R> fn, A input) {
        TaskFuture<R> f = applyAsync(fn, input);
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw new TaskFailedException("pool task failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new CohortException("interrupted while waiting for a pool task", e);
        }
    }

    @Override
    public <A, R> TaskFuture<R> applyAsync(RemoteFunction<A, R> fn, A input) {
        checkOpen();
        RemoteFunction<A, R> wrapped = withInitializer(fn);
        return admit(() -> executor.submitShaped(wrapped, input, options.taskOptions(), shape));
    }

    @Override
    public <A, R> TaskFuture<R> applyAsync(RemoteFunction<A, R> fn, A input, Consumer<? super R> callback,
                                           Consumer<? super Throwable> errorCallback) {
        TaskFuture<R> f = applyAsync(fn, input);
        f.whenCompleteAsync((value, error) -> {
            try {
                if (error == null) {
                    if (callback != null) {
                        callback.accept(value);
                    }
                } else if (errorCallback != null) {
                    errorCallback.accept(error);
                }
            } catch (RuntimeException | Error e) {
                System.getLogger(RemotePool.class.getName()).log(System.Logger.Level.WARNING,
                        "a pool callback threw", e);
            }
        }, executor.session().callbacks());
        return f;
    }

    // ---- many ----

    @Override
    public <A, R> List<R> map(RemoteFunction<A, R> fn, Iterable<? extends A> inputs) {
        return mapList(fn, inputs, 0);
    }

    @Override
    public <A, R> List<R> map(RemoteFunction<A, R> fn, Iterable<? extends A> inputs, int chunkSize) {
        OptionChecks.atLeast("chunkSize", chunkSize, 1);
        return mapList(fn, inputs, chunkSize);
    }

    private <A, R> List<R> mapList(RemoteFunction<A, R> fn, Iterable<? extends A> inputs, int chunkSize) {
        try (MapResult<R> results = lazyMap(fn, copy(inputs), chunkSize, true)) {
            return results.toList();
        }
    }

    @Override
    public <A, R> TaskFuture<List<R>> mapAsync(RemoteFunction<A, R> fn, Iterable<? extends A> inputs) {
        return mapAsync(fn, inputs, 0);
    }

    /** {@link #mapAsync(RemoteFunction, Iterable)} with {@code chunkSize} inputs per task (0: chosen by Cohort). */
    public <A, R> TaskFuture<List<R>> mapAsync(RemoteFunction<A, R> fn, Iterable<? extends A> inputs, int chunkSize) {
        checkOpen();
        List<A> all = copy(inputs);
        List<TaskFuture<Object>> units = Collections.synchronizedList(new ArrayList<>());
        RemoteExecutor.Admission collecting = new RemoteExecutor.Admission() {
            @Override
            public TaskFuture<Object> admit(Supplier<TaskFuture<Object>> launch) {
                TaskFuture<Object> unit = unitAdmission.admit(launch);
                units.add(unit);
                return unit;
            }

            @Override
            public void cancelNotStarted(List<TaskFuture<Object>> toCancel) {
                unitAdmission.cancelNotStarted(toCancel);
            }
        };
        // Every unit is sent now (the buffer holds them all), so the list is complete below.
        MapResult<R> results = executor.mapWith(withInitializer(fn), all, mapOptions(chunkSize, Integer.MAX_VALUE, true),
                parallelism(), shape, collecting);
        List<TaskFuture<Object>> sent = List.copyOf(units);
        TaskFuture<List<R>> whole = new TaskFuture<>(nextFutureId.incrementAndGet(), "mapAsync",
                new TaskFuture.Canceller() {
                    @Override
                    public void interruptRemote(TaskFuture<?> future) {
                        results.close();
                        sent.forEach(u -> u.cancel(true));
                    }

                    @Override
                    public boolean removeIfNotStarted(TaskFuture<?> future) {
                        if (sent.stream().anyMatch(u -> u.isRunning() || u.isDone())) {
                            return false;
                        }
                        results.close();
                        return true;
                    }
                });
        CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).whenComplete((ignored, error) -> {
            try {
                whole.succeed(results.toList());
            } catch (TaskFailedException e) {
                if (e.getCause() instanceof CancellationException) {
                    whole.cancelledRemotely();
                } else {
                    whole.fail(e.getCause());
                }
            } catch (RuntimeException e) {
                whole.fail(e);
            }
        });
        return whole;
    }

    @Override
    public <A, R> MapResult<R> imap(RemoteFunction<A, R> fn, Iterable<? extends A> inputs) {
        return imap(fn, inputs, 0);
    }

    /** {@link #imap(RemoteFunction, Iterable)} with {@code chunkSize} inputs per task (0: chosen by Cohort). */
    public <A, R> MapResult<R> imap(RemoteFunction<A, R> fn, Iterable<? extends A> inputs, int chunkSize) {
        return lazyMap(fn, inputs, chunkSize, true);
    }

    @Override
    public <A, R> MapResult<R> imapUnordered(RemoteFunction<A, R> fn, Iterable<? extends A> inputs) {
        return imapUnordered(fn, inputs, 0);
    }

    /** {@link #imapUnordered(RemoteFunction, Iterable)} with {@code chunkSize} inputs per task (0: chosen by Cohort). */
    public <A, R> MapResult<R> imapUnordered(RemoteFunction<A, R> fn, Iterable<? extends A> inputs, int chunkSize) {
        return lazyMap(fn, inputs, chunkSize, false);
    }

    @Override
    public <A, B, R> List<R> starmap(RemoteBiFunction<A, B, R> fn, Iterable<? extends Map.Entry<A, B>> inputs) {
        return starmap(fn, inputs, 0);
    }

    /** {@link #starmap(RemoteBiFunction, Iterable)} with {@code chunkSize} pairs per task (0: chosen by Cohort). */
    public <A, B, R> List<R> starmap(RemoteBiFunction<A, B, R> fn, Iterable<? extends Map.Entry<A, B>> inputs,
                                     int chunkSize) {
        TaskBodies.requireSerializable(fn);
        List<Map.Entry<A, B>> pairs = new ArrayList<>();
        for (Map.Entry<A, B> e : inputs) {
            // Map.entry(...) is not Serializable; this one is.
            pairs.add(new AbstractMap.SimpleImmutableEntry<>(e.getKey(), e.getValue()));
        }
        return mapList(new PoolTasks.Spread<>(fn), pairs, chunkSize);
    }

    private <A, R> MapResult<R> lazyMap(RemoteFunction<A, R> fn, Iterable<? extends A> inputs, int chunkSize,
                                        boolean ordered) {
        checkOpen();
        return executor.mapWith(withInitializer(fn), inputs, mapOptions(chunkSize, 0, ordered), parallelism(), shape,
                unitAdmission);
    }

    private MapOptions mapOptions(int chunkSize, int bufferSize, boolean ordered) {
        MapOptions.Builder b = MapOptions.builder().ordered(ordered).taskOptions(options.taskOptions());
        if (chunkSize > 0) {
            b.chunkSize(chunkSize);
        }
        if (bufferSize > 0) {
            b.bufferSize(bufferSize);
        }
        return b.build();
    }

    /** What automatic chunking divides the inputs by: the pool's bound, else the cluster's slots. */
    private int parallelism() {
        return processes == Integer.MAX_VALUE ? 0 : processes;
    }

    private <A, R> RemoteFunction<A, R> withInitializer(RemoteFunction<A, R> fn) {
        TaskBodies.requireSerializable(fn);
        return options.initializer().<RemoteFunction<A, R>>map(init -> new PoolTasks.Initialized<>(id, init, fn))
                .orElse(fn);
    }

    private static <A> List<A> copy(Iterable<? extends A> inputs) {
        List<A> all = new ArrayList<>();
        inputs.forEach(all::add);
        return all;
    }

    // ---- lifecycle ----

    @Override
    public void shutdown() {
        shutdown = true;
    }

    @Override
    public void terminate() {
        shutdown = true;
        terminated = true;
        List<PoolFuture<?>> all;
        synchronized (lock) {
            all = new ArrayList<>(outstanding);
        }
        all.forEach(f -> f.cancel(true));
    }

    @Override
    public void join() throws InterruptedException {
        if (!shutdown) {
            throw new IllegalStateException("join() needs shutdown() or terminate() first");
        }
        synchronized (lock) {
            while (!outstanding.isEmpty()) {
                lock.wait();
            }
        }
    }

    @Override
    public void close() {
        shutdown();
        try {
            join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CohortException("interrupted while waiting for the pool's tasks", e);
        }
    }

    private void checkOpen() {
        if (shutdown) {
            throw new IllegalStateException("the pool is " + (terminated ? "terminated" : "shut down"));
        }
    }

    // ---- admission: at most `processes` launched at once ----

    /** A future for a pool task that may still wait here before it is sent. */
    private static final class PoolFuture<T> extends TaskFuture<T> {
        final Supplier<TaskFuture<T>> launch;
        volatile TaskFuture<T> inner;   // null while it waits here

        PoolFuture(long id, String name, Canceller canceller, Supplier<TaskFuture<T>> launch) {
            super(id, name, canceller);
            this.launch = launch;
        }

        @Override
        public boolean isRunning() {
            TaskFuture<T> sent = inner;
            return sent != null && sent.isRunning() && !isDone();
        }

        @Override
        public String workerId() {
            TaskFuture<T> sent = inner;
            return sent == null ? "" : sent.workerId();
        }
    }

    private final TaskFuture.Canceller canceller = new TaskFuture.Canceller() {
        @Override
        public void interruptRemote(TaskFuture<?> future) {
            TaskFuture<?> sent = unqueue((PoolFuture<?>) future);
            if (sent != null) {
                sent.cancel(true);
            }
        }

        @Override
        public boolean removeIfNotStarted(TaskFuture<?> future) {
            PoolFuture<?> f = (PoolFuture<?>) future;
            TaskFuture<?> sent = unqueue(f);
            return sent == null || sent.cancel(false);
        }
    };

    /** Takes a waiting future out of the queue and returns null, or returns the task it was sent as. */
    private TaskFuture<?> unqueue(PoolFuture<?> f) {
        synchronized (lock) {
            if (waiting.remove(f)) {
                outstanding.remove(f);
                lock.notifyAll();
                return null;
            }
            return f.inner;
        }
    }

    private final RemoteExecutor.Admission unitAdmission = new RemoteExecutor.Admission() {
        @Override
        public TaskFuture<Object> admit(Supplier<TaskFuture<Object>> launch) {
            return RemotePool.this.admit(launch);
        }

        @Override
        public void cancelNotStarted(List<TaskFuture<Object>> units) {
            List<TaskFuture<?>> sent = new ArrayList<>();
            for (TaskFuture<Object> unit : units) {
                PoolFuture<?> f = (PoolFuture<?>) unit;
                TaskFuture<?> inner = unqueue(f);
                if (inner == null) {
                    f.cancelledRemotely();
                } else {
                    sent.add(inner);
                }
            }
            executor.session().removeIfNotStarted(sent);
        }
    };

    private <T> TaskFuture<T> admit(Supplier<TaskFuture<T>> launch) {
        PoolFuture<T> f = new PoolFuture<>(nextFutureId.incrementAndGet(), options.taskOptions().name().orElse(""),
                canceller, launch);
        if (terminated) {
            f.cancelledRemotely();
            return f;
        }
        synchronized (lock) {
            outstanding.add(f);
            waiting.addLast(f);
            launchWaiting();
        }
        return f;
    }

    /** Sends waiting futures, oldest first, while fewer than {@code processes} are out. Under the lock. */
    private void launchWaiting() {
        while (launched < processes && !waiting.isEmpty()) {
            PoolFuture<?> f = waiting.pollFirst();
            launched++;
            if (!launch(f)) {
                launched--;
                outstanding.remove(f);
            }
        }
        lock.notifyAll();
    }

    /**
     * Sends a future's task, under the lock so that a cancel finds it either waiting or sent.
     * Returns false when it ended at once (refused, or done before we listened).
     */
    private <T> boolean launch(PoolFuture<T> f) {
        TaskFuture<T> sent;
        try {
            sent = f.launch.get();
        } catch (RuntimeException e) {
            f.fail(e);
            return false;
        }
        f.inner = sent;
        if (sent.isDone()) {
            relay(sent, f);
            return false;
        }
        sent.whenComplete((value, error) -> {
            relay(sent, f);
            synchronized (lock) {
                launched--;
                outstanding.remove(f);
                launchWaiting();
            }
        });
        return true;
    }

    private static <T> void relay(TaskFuture<T> sent, PoolFuture<T> f) {
        try {
            f.succeed(sent.join());
        } catch (CancellationException e) {
            f.cancelledRemotely();
        } catch (java.util.concurrent.CompletionException e) {
            f.fail(e.getCause());
        }
    }
}
