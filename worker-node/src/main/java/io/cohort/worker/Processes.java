package io.cohort.worker;

import com.google.protobuf.ByteString;
import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.OutputLine;
import io.cohort.proto.v1.ProcessOutput;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerProcessOutput;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerTaskStarted;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The {@code CohortProcess}es running on this worker (tasks whose spec has {@code process}).
 * Each runs in a fresh child JVM of its own, started on a thread of its own: processes hold
 * no slot, and the slot state machine never sees them.
 *
 * <p>The worker reports the task started, then the pid, then stdout and stderr lines as they
 * come (each read batches what is already buffered), then the result: SUCCEEDED with the
 * Integer exit code. The code is the JVM's, except after a signal order: kill (9) gives -9;
 * terminate (15, or a plain interrupting cancel) interrupts the target, SIGTERMs the JVM
 * after {@link Children#GRACE_MS} if it still runs, and gives -15 either way.
 *
 * <p>Thread-safe.
 */
final class Processes implements AutoCloseable {
    /** Where reports go: the daemon's current attachment. */
    interface Reports {
        void send(com.google.protobuf.MessageLite item);
    }

    private static final class Running {
        final TaskAssign assign;
        volatile ChildJvm jvm;
        volatile int signal;   // 0, or the order received: 15 terminate, 9 kill
        final CompletableFuture<Integer> exit = new CompletableFuture<>();

        Running(TaskAssign assign) {
            this.assign = assign;
        }
    }

    /** One report carries at most this many lines, and stops adding lines past this many chars. */
    private static final int MAX_BATCH_LINES = 1000;
    private static final int MAX_BATCH_CHARS = 1 << 20;

    private final WorkerConfig config;
    private final TaskRunner runner;
    private final ScheduledExecutorService timers;
    private final Reports reports;
    private final Map<WorkerState.TaskId, Running> running = new ConcurrentHashMap<>();

    Processes(WorkerConfig config, TaskRunner runner, ScheduledExecutorService timers, Reports reports) {
        this.config = config;
        this.runner = runner;
        this.timers = timers;
        this.reports = reports;
    }

    static boolean isProcess(TaskAssign a) {
        return a.getSpec().hasProcess();
    }

    boolean owns(TaskCancelOrder order) {
        return running.containsKey(WorkerState.TaskId.of(order.getTaskKey(), order.getAttempt()));
    }

    void start(TaskAssign assign, String workerId) {
        WorkerState.TaskId id = WorkerState.TaskId.of(assign.getTaskKey(), assign.getAttempt());
        Running r = new Running(assign);
        if (running.putIfAbsent(id, r) != null) {
            return;   // a duplicate delivery
        }
        reports.send(WorkerTaskStarted.newBuilder().setTaskKey(id.key()).setAttempt(id.attempt()).build());
        Thread t = new Thread(() -> {
            WorkerTaskResult result;
            try {
                result = run(r, workerId);
            } catch (RuntimeException | Error e) {
                result = WorkerTaskResult.newBuilder().setTaskKey(id.key()).setAttempt(id.attempt())
                        .setStatus(TaskStatus.FAILED)
                        .setError(TaskErrors.plain(e.getClass().getName(), String.valueOf(e.getMessage()), workerId))
                        .build();
            }
            running.remove(id);
            reports.send(result);
        }, "cohort-process-" + id);
        t.setDaemon(true);
        t.start();
    }

    private WorkerTaskResult run(Running r, String workerId) {
        TaskAssign a = r.assign;
        WorkerTaskResult.Builder result = WorkerTaskResult.newBuilder().setTaskKey(a.getTaskKey())
                .setAttempt(a.getAttempt());
        List<String> options = a.getSpec().getProcess().getJvmOptionsList();
        java.util.Optional<String> refused = config.jvmOptionPolicy().refusal(options, workerId);
        if (refused.isPresent()) {
            return result.setStatus(TaskStatus.FAILED).setError(TaskErrors.plain("java.lang.IllegalArgumentException",
                    refused.get(), workerId)).build();
        }
        ChildJvm jvm;
        try {
            jvm = ChildJvm.start(config, workerId, options, true, true,
                    new ChildJvm.Listener() {
                        @Override
                        public void message(ChildJvm child, AttachRequest message) {
                            // a process reports by its exit code alone
                        }

                        @Override
                        public void exited(ChildJvm child, int exitCode) {
                            r.exit.complete(exitCode);
                        }
                    }, runner.codeCache());
        } catch (IOException e) {
            return result.setStatus(TaskStatus.FAILED).setError(TaskErrors.plain("java.io.IOException",
                    "cannot start the JVM of process " + WorkerState.describe(a) + " on worker " + workerId + ": "
                            + e.getMessage(), workerId)).build();
        }
        r.jvm = jvm;
        report(a, ProcessOutput.newBuilder().setPid(jvm.pid()).build());
        Thread out = pump(r, jvm.process().getInputStream(), false);
        Thread err = pump(r, jvm.process().getErrorStream(), true);
        AttachResponse.Builder m = AttachResponse.newBuilder();
        ByteString digest = a.getSpec().getFunctionDigest();
        if (!digest.isEmpty() && runner.functionBody(digest) != null) {
            m.addFunctions(FunctionDef.newBuilder().setDigest(digest).setBody(runner.functionBody(digest)));
        }
        try {
            jvm.send(m.addAssigns(a).build());
        } catch (IOException e) {
            jvm.close(true);   // the exit code tells what happened
        }
        if (r.signal != 0) {
            act(r, r.signal);   // ordered while the JVM was starting
        }
        int code = r.exit.join();
        jvm.close(false);
        try {
            out.join(5_000);
            err.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        int signal = r.signal;
        int exitCode = signal == 9 ? -9 : signal == 15 ? -15 : code;
        return result.setStatus(TaskStatus.SUCCEEDED).setValue(config.codec().encode(exitCode)).build();
    }

    /** Reads lines of one stream; each report carries every line already buffered. */
    private Thread pump(Running r, InputStream stream, boolean stderr) {
        Thread t = new Thread(() -> {
            try (OutputLines in = new OutputLines(stream)) {
                String line;
                while ((line = in.next()) != null) {
                    ProcessOutput.Builder batch = ProcessOutput.newBuilder();
                    batch.addLines(OutputLine.newBuilder().setStderr(stderr).setText(line));
                    long chars = line.length();
                    while (chars < MAX_BATCH_CHARS && batch.getLinesCount() < MAX_BATCH_LINES && in.ready()
                            && (line = in.next()) != null) {
                        batch.addLines(OutputLine.newBuilder().setStderr(stderr).setText(line));
                        chars += line.length();
                    }
                    report(r.assign, batch.build());
                }
            } catch (IOException ended) {
                // the process is gone
            }
        }, "cohort-process-" + (stderr ? "err-" : "out-") + r.assign.getTaskKey());
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void report(TaskAssign a, ProcessOutput output) {
        reports.send(WorkerProcessOutput.newBuilder().setTaskKey(a.getTaskKey()).setAttempt(a.getAttempt())
                .setOutput(output).build());
    }

    /** A cancel order for a process: signal 9 kills it now; anything else terminates it. */
    void signal(TaskCancelOrder order) {
        Running r = running.get(WorkerState.TaskId.of(order.getTaskKey(), order.getAttempt()));
        if (r == null || (!order.getInterrupt() && order.getSignal() == 0)) {
            return;   // ended, or a cancel that only removes tasks not started
        }
        int signal = order.getSignal() == 9 ? 9 : 15;
        if (r.signal == 9) {
            return;
        }
        r.signal = signal;
        if (r.jvm != null) {
            act(r, signal);
        }
    }

    private void act(Running r, int signal) {
        ChildJvm jvm = r.jvm;
        if (signal == 9) {
            jvm.process().destroyForcibly();
            return;
        }
        TaskAssign a = r.assign;
        try {
            jvm.send(AttachResponse.newBuilder().addCancels(TaskCancelOrder.newBuilder()
                    .setTaskKey(a.getTaskKey()).setAttempt(a.getAttempt()).setInterrupt(true)).build());
        } catch (IOException gone) {
            return;   // it is ending already
        }
        timers.schedule(() -> {
            if (!r.exit.isDone()) {
                jvm.terminate();
            }
        }, Children.GRACE_MS, TimeUnit.MILLISECONDS);
    }

    /** Kills every process (the stream was lost, or the daemon stops): the coordinator has given them up. */
    @Override
    public void close() {
        for (Running r : List.copyOf(running.values())) {
            r.signal = 9;
            ChildJvm jvm = r.jvm;
            if (jvm != null) {
                jvm.process().destroyForcibly();
            }
        }
    }
}
