package io.cohort.worker;

import io.cohort.common.ChannelSecurity;
import io.cohort.common.Codec;
import io.cohort.common.DeserializationFilter;
import io.cohort.common.Protocol;
import io.cohort.common.TaskContext;
import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskError;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerTaskResult;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The main class of a child JVM that a worker daemon starts for {@code Isolation.PROCESS}
 * tasks and for {@code CohortProcess}es (see {@link ChildJvm} for the protocol). Internal:
 * not for applications.
 *
 * <p>It runs one task at a time on its task thread with the daemon's {@link TaskRunner}, so
 * tasks behave exactly as in the daemon. A cancel order interrupts the task thread. The child
 * halts as soon as its daemon goes away (end of its stdin or of the socket), so a daemon
 * killed with -9 leaves no children behind. In process mode it runs one task, prints the
 * task's exception to stderr if it threw, and exits with 0 or 1 like Python's
 * {@code multiprocessing.Process}.
 */
public final class ChildMain {
    /** Exit status when the daemon went away. */
    static final int ORPHANED = 70;

    private final OutputStream out;
    private final boolean processMode;
    private final Codec codec;
    private final TaskRunner runner;
    private final LinkedBlockingQueue<TaskAssign> inbox = new LinkedBlockingQueue<>();
    private final Thread taskThread = new Thread(this::runTasks, "cohort-child-task");
    private String workerId = "";
    private TaskAssign current;   // guarded by this
    private TaskCancelOrder early;   // guarded by this: a cancel that came before its task began

    private ChildMain(OutputStream out, boolean processMode, Codec codec, CodeLoaders code) {
        this.out = out;
        this.processMode = processMode;
        this.codec = codec;
        this.runner = new TaskRunner(codec, ChildMain.class.getClassLoader(), null, code);
    }

    /**
     * Arguments: daemon port, coordinator target, mode ("pool" or "process"), the daemon's
     * deserialization filter pattern ("" for the built-in refusals alone). The handshake token
     * and the credentials for the coordinator come on stdin ({@link ChildJvm#writeSecrets}).
     */
    public static void main(String[] args) throws IOException {
        Map.Entry<String, ChannelSecurity> secrets;
        try {
            secrets = ChildJvm.readSecrets(System.in);
        } catch (IOException daemonGone) {
            Runtime.getRuntime().halt(ORPHANED);
            return;
        }
        haltWhenStdinEnds();
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), Integer.parseInt(args[0]));
        socket.setTcpNoDelay(true);
        InputStream in = new BufferedInputStream(socket.getInputStream());
        Codec codec = args[3].isEmpty() ? Codec.standard()
                : Codec.filtered(DeserializationFilter.of(args[3], DeserializationFilter.WORKER_SETTING));
        String coordinator = args[1];
        LazyChannel channel = coordinator.isEmpty() ? null : new LazyChannel(coordinator, secrets.getValue());
        // Shipped code: the daemon's cache directory, fetching into it (with the daemon's token) what is missing.
        CodeLoaders code = args.length < 5 || args[4].isEmpty() ? null
                : WorkerCode.shared(Path.of(args[4]), channel, ChildMain.class.getClassLoader()).loaders();
        ChildMain child = new ChildMain(new BufferedOutputStream(socket.getOutputStream()), "process".equals(args[2]),
                codec, code);
        child.send(AttachRequest.newBuilder().setHello(WorkerHello.newBuilder()
                .setProtocolVersion(Protocol.VERSION).setWorkerId(secrets.getKey())
                .setPid(ProcessHandle.current().pid())).build());
        child.taskThread.start();
        try {
            AttachResponse m;
            while ((m = AttachResponse.parseDelimitedFrom(in)) != null) {
                if (m.hasWelcome() && !coordinator.isEmpty()) {
                    TaskContext.installCoordinator(channel,
                            m.getWelcome().getWorkerId(),
                            child.codec);
                }
                if (m.hasWelcome()) {
                    child.workerId = m.getWelcome().getWorkerId();
                }
                child.handle(m);
            }
        } catch (IOException daemonGone) {
            // same as the end of the stream
        }
        Runtime.getRuntime().halt(ORPHANED);
    }

    private static void haltWhenStdinEnds() {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // the daemon never writes; reading only waits for the end
                }
            } catch (IOException e) {
                // treated as the end
            }
            Runtime.getRuntime().halt(ORPHANED);
        }, "cohort-child-parent-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    private void handle(AttachResponse m) {
        runner.forget(m.getForgetFunctionsList());
        for (FunctionDef f : m.getFunctionsList()) {
            runner.define(f);
        }
        inbox.addAll(m.getAssignsList());
        for (TaskCancelOrder c : m.getCancelsList()) {
            synchronized (this) {
                if (!c.getInterrupt()) {
                    continue;
                }
                if (current != null && matches(current, c)) {
                    taskThread.interrupt();
                } else {
                    early = c;
                }
            }
        }
    }

    private void runTasks() {
        while (true) {
            TaskAssign a;
            try {
                a = inbox.take();
            } catch (InterruptedException stray) {
                continue;   // a cancel that came after its task ended
            }
            synchronized (this) {
                current = a;
                if (early != null && matches(a, early)) {
                    taskThread.interrupt();   // the task meets it at its first wait
                }
                early = null;
            }
            WorkerTaskResult r = runner.run(a, workerId);
            synchronized (this) {
                current = null;
                Thread.interrupted();   // an interrupt meant for this task must not hit the next
            }
            if (processMode) {
                exitAfter(r);
            }
            try {
                send(AttachRequest.newBuilder().addResults(r).build());
            } catch (IOException daemonGone) {
                Runtime.getRuntime().halt(ORPHANED);
            }
        }
    }

    private static boolean matches(TaskAssign a, TaskCancelOrder c) {
        return a.getTaskKey() == c.getTaskKey() && a.getAttempt() == c.getAttempt();
    }

    /** Ends a process like Python: 0 when the target returned, else its traceback and 1. */
    private static void exitAfter(WorkerTaskResult r) {
        if (r.getStatus() == TaskStatus.SUCCEEDED) {
            System.out.flush();
            System.exit(0);
        }
        TaskError e = r.getError();
        StringBuilder trace = new StringBuilder("Exception in process target: ").append(e.getClassName());
        if (!e.getMessage().isEmpty()) {
            trace.append(": ").append(e.getMessage());
        }
        for (StackTraceElement f : TaskErrors.frames(e)) {
            trace.append(System.lineSeparator()).append("\tat ").append(f);
        }
        System.out.flush();
        System.err.println(trace);
        System.err.flush();
        System.exit(1);
    }

    private synchronized void send(AttachRequest m) throws IOException {
        m.writeDelimitedTo(out);
        out.flush();
    }
}
