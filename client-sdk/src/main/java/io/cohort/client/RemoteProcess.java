package io.cohort.client;

import io.cohort.proto.v1.OutputLine;
import io.cohort.proto.v1.ProcessOutput;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link CohortProcess} as a task of its executor's session: spec with {@code process} set,
 * {@code max_retries} 0, result = the Integer exit code. terminate and kill travel as a
 * {@code TaskCancel} with signal 15 or 9. Thread-safe.
 */
final class RemoteProcess implements CohortProcess {
    /** How long {@link #pid()} waits: a JVM may start slowly on a loaded host. */
    private static final long PID_WAIT_SECONDS = 60;

    private final Session session;
    private final String name;
    private final TaskSpec spec;
    private final TaskPolicy policy;
    private final AtomicBoolean started = new AtomicBoolean();
    private final CompletableFuture<Long> pid = new CompletableFuture<>();
    private volatile TaskFuture<Integer> future;
    private volatile int signal;   // the last order: 15 terminate, 9 kill (kill wins)

    RemoteProcess(Session session, String name, TaskSpec spec, TaskPolicy policy) {
        this.session = session;
        this.name = name;
        this.spec = spec;
        this.policy = policy;
    }

    @Override
    public CohortProcess start() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("process " + name + " was already started");
        }
        TaskFuture<Integer> f = session.submit(spec, policy, this::output);
        f.whenComplete((code, error) -> pid.complete(-1L));   // no-op once the pid is known
        future = f;
        return this;
    }

    /** Pid and lines from the worker, in order, on a transport thread: print and return. */
    private void output(ProcessOutput out) {
        if (out.getPid() != 0) {
            pid.complete(out.getPid());
        }
        for (OutputLine line : out.getLinesList()) {
            (line.getStderr() ? System.err : System.out).println("[" + name + "] " + line.getText());
        }
    }

    private TaskFuture<Integer> started() {
        TaskFuture<Integer> f = future;
        if (f == null) {
            throw new IllegalStateException("process " + name + " has not been started");
        }
        return f;
    }

    @Override
    public void join() throws InterruptedException {
        try {
            started().get();
        } catch (ExecutionException | CancellationException ended) {
            // ended all the same; exitCode() and failure() tell how
        }
    }

    @Override
    public boolean join(Duration timeout) throws InterruptedException {
        try {
            started().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException running) {
            return false;
        } catch (ExecutionException | CancellationException ended) {
            // ended all the same
        }
        return true;
    }

    @Override
    public boolean isAlive() {
        TaskFuture<Integer> f = future;
        return f != null && !f.isDone();
    }

    @Override
    public OptionalInt exitCode() {
        TaskFuture<Integer> f = future;
        if (f == null || !f.isDone()) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(f.join());
        } catch (CancellationException e) {
            // removed before it started, or its host was lost after an order
            return OptionalInt.of(signal != 0 ? -signal : -15);
        } catch (CompletionException e) {
            return OptionalInt.of(-9);
        }
    }

    @Override
    public Optional<Throwable> failure() {
        TaskFuture<Integer> f = future;
        if (f == null || !f.isCompletedExceptionally()) {
            return Optional.empty();
        }
        try {
            f.join();
            return Optional.empty();
        } catch (CancellationException e) {
            return Optional.empty();
        } catch (CompletionException e) {
            return Optional.of(e.getCause());
        }
    }

    @Override
    public void terminate() {
        send(15);
    }

    @Override
    public void kill() {
        send(9);
    }

    private void send(int order) {
        TaskFuture<Integer> f = started();
        if (f.isDone() || signal == 9) {
            return;
        }
        signal = order;
        session.signal(f, order);
    }

    @Override
    public long pid() {
        started();
        try {
            return pid.get(PID_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the pid of process " + name, e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("the pid of process " + name + " is not known after "
                    + PID_WAIT_SECONDS + " s", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());   // never: pid only completes normally
        }
    }

    @Override
    public String workerId() {
        TaskFuture<Integer> f = future;
        return f == null ? "" : f.workerId();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return "CohortProcess{name=" + name + ", alive=" + isAlive() + ", exitCode=" + exitCode() + "}";
    }
}
