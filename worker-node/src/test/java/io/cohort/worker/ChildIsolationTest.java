package io.cohort.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.common.ChannelSecurity;
import io.cohort.common.Codec;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.Isolation;
import io.cohort.proto.v1.OutputLine;
import io.cohort.proto.v1.ProcessSpec;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerProcessOutput;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.worker.FakeCoordinator.Mark;
import io.cohort.worker.FakeCoordinator.Stream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** Isolation.PROCESS tasks and process tasks, run by a real daemon in real child JVMs. */
@Timeout(120)
class ChildIsolationTest {
    private static final Codec CODEC = Codec.standard();
    private static final String WORKER_TOKEN = "worker-token-not-for-ps";

    private FakeCoordinator coordinator;
    private WorkerDaemon daemon;
    private Stream stream;
    private ServerSocket entered;   // a task connects to it once it runs: the test's "it began" signal
    private long nextKey;

    @BeforeEach
    void setUp() throws Exception {
        coordinator = new FakeCoordinator();
        // With a worker token, as a daemon of a cluster with tokens has; one more JVM option allowed.
        daemon = WorkerDaemon.start(WorkerConfig.builder().coordinator("in-process").slots(1)
                .security(new ChannelSecurity(null, null, null, WORKER_TOKEN))
                .allowJvmOptions(List.of("-XX:-UsePerfData"))
                .initialBackoff(Duration.ofMillis(10)).build(), coordinator.channel);
        stream = coordinator.attach("w-1");
        entered = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        entered.setSoTimeout((int) FakeCoordinator.WAIT_MS);
    }

    @AfterEach
    void tearDown() throws Exception {
        daemon.close();
        coordinator.close();
        entered.close();
    }

    // ---- task bodies (they run in the child JVMs) ----

    static Object pid(Object input) {
        return ProcessHandle.current().pid();
    }

    static Object taskContext(Object input) {
        return io.cohort.common.TaskContext.workerId().orElse("none") + " "
                + io.cohort.common.TaskContext.coordinatorChannel().isPresent();
    }

    static Object halt(Object input) {
        Runtime.getRuntime().halt(3);
        return null;
    }

    static Object enterThenSleep(Object port) throws Exception {
        new Socket(InetAddress.getLoopbackAddress(), (Integer) port).close();
        Thread.sleep(Long.MAX_VALUE);
        return null;
    }

    static Object enterThenIgnoreInterrupts(Object port) throws Exception {
        new Socket(InetAddress.getLoopbackAddress(), (Integer) port).close();
        while (true) {
            try {
                Thread.sleep(Long.MAX_VALUE);
            } catch (InterruptedException ignored) {
                // keeps running: the daemon must kill the child
            }
        }
    }

    /** This JVM's command line, as any local user sees it (ps, /proc/PID/cmdline). */
    static Object commandLine(Object input) throws IOException {
        return commandLineOf(ProcessHandle.current().pid());
    }

    static List<String> commandLineOf(long pid) throws IOException {
        byte[] raw = Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline"));
        // Each argument ends with a NUL; an empty one (the child's filter) is kept.
        List<String> args = new ArrayList<>(List.of(new String(raw, StandardCharsets.UTF_8).split("\0", -1)));
        args.remove(args.size() - 1);
        return args;
    }

    static Object printAndExit(Object input) {
        System.out.println("hello from the process");
        System.err.println("on stderr");
        System.out.flush();
        System.exit(7);
        return null;
    }

    // ---- helpers ----

    private TaskAssign assign(TaskBody body, Object input, String group, int maxTasksPerChild, long timeoutMs) {
        TaskSpec.Builder spec = TaskSpec.newBuilder().setBody(CODEC.encode(body)).setIsolation(Isolation.PROCESS)
                .setIsolationGroup(group).setMaxTasksPerChild(maxTasksPerChild);
        if (input != null) {
            spec.setArgument(CODEC.encode(input));
        }
        return TaskAssign.newBuilder().setTaskKey(++nextKey).setAttempt(1).setTimeoutMs(timeoutMs).setSpec(spec).build();
    }

    /** A process task (TaskSpec.process), with JVM options to show they are accepted. */
    private TaskAssign processAssign(TaskBody body, Object input) {
        return processAssign(body, input, List.of("-Xmx64m", "-XX:+UseSerialGC", "-Dapp.mode=test"));
    }

    private TaskAssign processAssign(TaskBody body, Object input, List<String> jvmOptions) {
        TaskSpec.Builder spec = TaskSpec.newBuilder().setBody(CODEC.encode(body))
                .setProcess(ProcessSpec.newBuilder().setName("p").addAllJvmOptions(jvmOptions));
        if (input != null) {
            spec.setArgument(CODEC.encode(input));
        }
        return TaskAssign.newBuilder().setTaskKey(++nextKey).setAttempt(1).setSpec(spec).build();
    }

    /** Sends the task and waits until its body has begun. */
    private TaskAssign startEntered(TaskAssign a) throws IOException {
        stream.send(AttachResponse.newBuilder().addAssigns(a).build());
        awaitEntered();
        return a;
    }

    private WorkerTaskResult run(TaskAssign a) throws InterruptedException {
        stream.send(AttachResponse.newBuilder().addAssigns(a).build());
        return stream.result(a.getTaskKey());
    }

    private long childPid(String group, int maxTasksPerChild) throws InterruptedException {
        WorkerTaskResult r = run(assign(ChildIsolationTest::pid, null, group, maxTasksPerChild, 0));
        assertEquals(TaskStatus.SUCCEEDED, r.getStatus(), () -> r.getError().toString());
        return (Long) CODEC.decode(r.getValue(), getClass().getClassLoader());
    }

    private void awaitEntered() throws IOException {
        entered.accept().close();
    }

    private void cancel(TaskAssign a, int signal) {
        stream.send(AttachResponse.newBuilder().addCancels(TaskCancelOrder.newBuilder().setTaskKey(a.getTaskKey())
                .setAttempt(a.getAttempt()).setInterrupt(true).setSignal(signal)).build());
    }

    // ---- tests ----

    @Test
    void runsTasksInAChildReusedWithinItsGroupOnly() throws Exception {
        long first = childPid("a", 0);
        assertNotEquals(ProcessHandle.current().pid(), first);
        assertTrue(ProcessHandle.of(first).isPresent(), "the child lives on for the next task");
        assertEquals(first, childPid("a", 0));
        assertNotEquals(first, childPid("b", 0), "groups never share a child");
        WorkerTaskResult context = run(assign(ChildIsolationTest::taskContext, null, "a", 0, 0));
        assertEquals("w-1 true", CODEC.decode(context.getValue(), getClass().getClassLoader()),
                "shared-object handles in tasks reach the coordinator through the daemon's id and target");
    }

    @Test
    void aChildThatHaltsLosesOnlyItsTask() throws Exception {
        long first = childPid("g", 0);
        WorkerTaskResult lost = run(assign(ChildIsolationTest::halt, null, "g", 0, 0));
        assertEquals(TaskStatus.WORKER_LOST, lost.getStatus());
        assertTrue(lost.getError().getMessage().contains("died with exit code 3"), lost.getError().getMessage());
        long next = childPid("g", 0);
        assertNotEquals(first, next, "a new child replaces the dead one");
        assertFalse(stream.items().contains(Mark.WORKER_CANCELLED), "the daemon stays attached");
    }

    @Test
    void maxTasksPerChildReplacesTheChild() throws Exception {
        long first = childPid("g", 2);
        assertEquals(first, childPid("g", 2));
        long third = childPid("g", 2);
        assertNotEquals(first, third);
        assertEquals(third, childPid("g", 2));
    }

    @Test
    void cancelInterruptsTheTaskInItsChild() throws Exception {
        long child = childPid("g", 0);
        TaskAssign sleeper = startEntered(assign(ChildIsolationTest::enterThenSleep, entered.getLocalPort(), "g", 0, 0));
        cancel(sleeper, 0);
        assertEquals(TaskStatus.CANCELLED, stream.result(sleeper.getTaskKey()).getStatus());
        assertEquals(child, childPid("g", 0), "an interrupted task leaves its child usable");
    }

    @Test
    void aTimedOutTaskThatIgnoresInterruptsCostsItsChild() throws Exception {
        long child = childPid("g", 0);
        TaskAssign stubborn = startEntered(
                assign(ChildIsolationTest::enterThenIgnoreInterrupts, entered.getLocalPort(), "g", 0, 300));
        assertEquals(TaskStatus.TIMED_OUT, stream.result(stubborn.getTaskKey()).getStatus());
        assertNotEquals(child, childPid("g", 0), "the child was killed after the grace period");
    }

    @Test
    void aProcessReportsItsPidOutputAndExitCode() throws Exception {
        WorkerTaskResult r = run(processAssign(ChildIsolationTest::printAndExit, null));
        assertEquals(7, CODEC.decode(r.getValue(), getClass().getClassLoader()));
        List<OutputLine> lines = new ArrayList<>();
        long pid = 0;
        for (Object o : stream.items()) {
            if (o instanceof WorkerProcessOutput out) {
                pid = out.getOutput().getPid() != 0 ? out.getOutput().getPid() : pid;
                lines.addAll(out.getOutput().getLinesList());
            }
        }
        assertTrue(pid > 0);
        assertTrue(lines.contains(OutputLine.newBuilder().setText("hello from the process").build()), lines::toString);
        assertTrue(lines.contains(OutputLine.newBuilder().setStderr(true).setText("on stderr").build()), lines::toString);
    }

    @Test
    void killAndTerminateOfAProcessGiveMinusTheSignal() throws Exception {
        TaskAssign sleeper = startEntered(
                processAssign(ChildIsolationTest::enterThenIgnoreInterrupts, entered.getLocalPort()));
        cancel(sleeper, 15);   // ignores the interrupt: SIGTERM after the grace period
        assertEquals(-15, CODEC.decode(stream.result(sleeper.getTaskKey()).getValue(), getClass().getClassLoader()));

        TaskAssign second = startEntered(sleeper.toBuilder().setTaskKey(++nextKey).build());
        cancel(second, 9);
        assertEquals(-9, CODEC.decode(stream.result(second.getTaskKey()).getValue(), getClass().getClassLoader()));
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void aChildsCommandLineHoldsNoTokenTheChildGetsItsCredentialsOnStdin() throws Exception {
        WorkerTaskResult r = run(assign(ChildIsolationTest::commandLine, null, "g", 0, 0));
        assertEquals(TaskStatus.SUCCEEDED, r.getStatus(), () -> r.getError().toString());
        @SuppressWarnings("unchecked")
        List<String> seen = (List<String>) CODEC.decode(r.getValue(), getClass().getClassLoader());
        List<String> args = seen.subList(seen.indexOf(ChildMain.class.getName()) + 1, seen.size());
        // Its port, the coordinator's target, its mode, its filter and the daemon's cache of shipped
        // code: no handshake token (a UUID before), no worker token.
        assertEquals(5, args.size(), args::toString);
        assertTrue(args.get(4).contains("cohort-bundles-"), args::toString);
        assertEquals("in-process", args.get(1));
        assertEquals("pool", args.get(2));
        assertTrue(seen.stream().noneMatch(a -> a.contains(WORKER_TOKEN)
                || a.matches(".*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}.*")), seen::toString);
        // The handle the task would use for shared objects carries the daemon's token: its channel was built from stdin.
        WorkerTaskResult context = run(assign(ChildIsolationTest::taskContext, null, "g", 0, 0));
        assertEquals("w-1 true", CODEC.decode(context.getValue(), getClass().getClassLoader()));
    }

    @Test
    void aProcessWithAJvmOptionOutsideTheAllowListFailsNamingItAndStartsNoJvm() throws Exception {
        for (String bad : List.of("-XX:OnOutOfMemoryError=touch /tmp/cohort-pwned", "-Xlog:gc:file=/tmp/cohort-overwritten",
                "-javaagent:/tmp/agent.jar", "@/tmp/argfile", "-Djava.system.class.loader=Evil")) {
            WorkerTaskResult r = run(processAssign(ChildIsolationTest::printAndExit, null, List.of("-Xmx64m", bad)));
            assertEquals(TaskStatus.FAILED, r.getStatus(), bad);
            assertEquals("java.lang.IllegalArgumentException", r.getError().getClassName());
            assertTrue(r.getError().getMessage().contains("'" + bad + "'") && r.getError().getMessage()
                    .contains("--allow-jvm-option"), r.getError().getMessage());
            assertTrue(stream.items().stream().noneMatch(o -> o instanceof WorkerProcessOutput out
                    && out.getTaskKey() == r.getTaskKey()), "no JVM was started for it");
        }
        // What the operator allowed (--allow-jvm-option) passes.
        WorkerTaskResult allowed = run(processAssign(ChildIsolationTest::printAndExit, null,
                List.of("-XX:-UsePerfData")));
        assertEquals(7, CODEC.decode(allowed.getValue(), getClass().getClassLoader()));
    }
}
