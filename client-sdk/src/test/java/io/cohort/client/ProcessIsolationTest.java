package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.proto.v1.Isolation;
import io.cohort.proto.v1.TaskSpec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Isolation.PROCESS tasks and CohortProcess on a real local cluster (worker JVMs with child JVMs). */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProcessIsolationTest {
    private static final Duration LONG = Duration.ofSeconds(60);
    private static RemoteExecutor cohort;

    @BeforeAll
    static void startCluster() {
        cohort = (RemoteExecutor) Cohort.local(2);
    }

    @AfterAll
    static void stopCluster() {
        cohort.close();
    }

    static Consumer<TaskSpec.Builder> inChildren(String group) {
        return spec -> spec.setIsolation(Isolation.PROCESS).setIsolationGroup(group);
    }

    private static Set<Long> pids(List<TaskFuture<Long>> futures) throws Exception {
        Set<Long> pids = new HashSet<>();
        for (TaskFuture<Long> f : futures) {
            pids.add(f.get(60, TimeUnit.SECONDS));
        }
        return pids;
    }

    private static List<TaskFuture<Long>> childPids(int tasks, String group) {
        List<TaskFuture<Long>> out = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
            out.add(cohort.submitShaped((Integer x) -> ProcessHandle.current().pid(), i, TaskOptions.DEFAULTS,
                    inChildren(group)));
        }
        return out;
    }

    private static Map<String, Long> activeWorkers() {
        return cohort.clusterInfo().workers().stream().filter(w -> w.state() == WorkerState.ACTIVE)
                .collect(Collectors.toMap(WorkerInfo::id, WorkerInfo::pid));
    }

    /** A process whose target has reached the gate and waits there (then sleeps, with {@code sleepAfter}). */
    private static CohortProcess startedAtGate(Gate gate, boolean sleepAfter) throws InterruptedException {
        Gate.Handle h = gate.handle();
        CohortProcess p = cohort.process(() -> {
            try {
                h.pass();
                if (sleepAfter) {
                    Thread.sleep(60_000);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }).start();
        assertTrue(gate.awaitArrivals(1, 60), "the target runs");
        return p;
    }

    @Test
    void aTaskThatHaltsItsChildTakesDownOnlyThatChild() throws Exception {
        Map<String, Long> workers = activeWorkers();
        Set<Long> daemonPids = Set.copyOf(workers.values());
        Set<Long> before = pids(childPids(20, "halting"));
        assertTrue(before.stream().noneMatch(daemonPids::contains), "tasks ran in child JVMs");

        TaskFuture<Object> halter = cohort.submitShaped((Integer x) -> {
            Runtime.getRuntime().halt(x);
            return null;
        }, 3, TaskOptions.builder().name("halter").maxRetries(1).build(), inChildren("halting"));
        List<TaskFuture<Long>> others = childPids(100, "halting");

        ExecutionException e = assertThrows(ExecutionException.class, () -> halter.get(60, TimeUnit.SECONDS));
        WorkerLostException lost = assertInstanceOf(WorkerLostException.class, e.getCause());
        assertTrue(lost.getMessage().contains("halter") && lost.getMessage().contains("died with exit code 3"),
                lost.getMessage());
        Set<Long> after = pids(others);
        after.addAll(pids(childPids(10, "halting")));
        assertFalse(before.containsAll(after), "new children replaced the dead ones: " + before + " then " + after);
        assertEquals(workers, activeWorkers(), "the daemons stayed attached with the same ids and pids");
    }

    @Test
    void exitCodesFollowPython() throws Exception {
        CohortProcess returns = cohort.process(() -> { });
        CohortProcess throwsUp = cohort.process(() -> {
            throw new IllegalStateException("boom");
        });
        CohortProcess exits = cohort.process(() -> System.exit(42));
        for (CohortProcess p : List.of(returns, throwsUp, exits)) {
            assertFalse(p.isAlive());
            assertEquals(OptionalInt.empty(), p.exitCode());
            p.start();
        }
        for (CohortProcess p : List.of(returns, throwsUp, exits)) {
            assertTrue(p.join(LONG), p.name());
            assertFalse(p.isAlive());
            assertTrue(p.failure().isEmpty());
        }
        assertEquals(OptionalInt.of(0), returns.exitCode());
        assertEquals(OptionalInt.of(1), throwsUp.exitCode());
        assertEquals(OptionalInt.of(42), exits.exitCode());
        assertThrows(IllegalStateException.class, returns::start);
    }

    @Test
    void aJvmOptionOutsideTheWorkersAllowListFailsOnlyThatProcessNamingIt() throws Exception {
        CohortProcess bad = cohort.process(() -> { }, ProcessOptions.builder()
                .jvmOptions(List.of("-Xmx64m", "-XX:OnOutOfMemoryError=touch /tmp/cohort-oom-ran")).build());
        CohortProcess good = cohort.process(() -> { }, ProcessOptions.builder()
                .jvmOptions(List.of("-Xmx64m", "-XX:+UseSerialGC", "-Dapp.flag=1")).build());
        bad.start();
        good.start();
        assertTrue(bad.join(LONG) && good.join(LONG));
        Throwable why = bad.failure().orElseThrow();
        assertTrue(String.valueOf(why.getMessage()).contains("-XX:OnOutOfMemoryError=touch /tmp/cohort-oom-ran")
                && why.getMessage().contains("--allow-jvm-option"), why::toString);
        assertEquals(OptionalInt.of(0), good.exitCode(), "the allowed options start the JVM as before");
    }

    @Test
    void namesAreNumberedPerExecutor() {
        CohortProcess a = cohort.process(() -> { });
        CohortProcess b = cohort.process(() -> { });
        int n = Integer.parseInt(a.name().substring("Process-".length()));
        assertEquals("Process-" + (n + 1), b.name());
        assertEquals("worker", cohort.process(() -> { }, ProcessOptions.builder().name("worker").build()).name());
        assertThrows(IllegalStateException.class, a::join);
        assertThrows(IllegalArgumentException.class, () -> ProcessOptions.builder().name(" ").build());
        assertThrows(IllegalArgumentException.class,
                () -> ProcessOptions.builder().jvmOptions(List.of("")).build());
    }

    @Test
    void killEndsARunningProcessWithMinusNine() throws Exception {
        try (Gate gate = new Gate()) {
            CohortProcess p = startedAtGate(gate, false);
            long pid = p.pid();
            assertTrue(ProcessHandle.of(pid).isPresent(), "pid " + pid + " is a live process");
            assertFalse(activeWorkers().containsValue(pid), "a JVM of its own");
            assertTrue(p.isAlive());
            assertTrue(activeWorkers().containsKey(p.workerId()));
            assertFalse(p.join(Duration.ofMillis(50)));
            assertEquals(OptionalInt.empty(), p.exitCode());
            p.kill();
            assertTrue(p.join(LONG));
            assertEquals(OptionalInt.of(-9), p.exitCode());
            assertFalse(p.isAlive());
            assertTrue(p.failure().isEmpty());
            LocalClusterTest.waitUntil(() -> ProcessHandle.of(pid).isEmpty());
        }
    }

    @Test
    void terminateInterruptsASleepingTarget() throws Exception {
        try (Gate gate = new Gate()) {
            CohortProcess p = startedAtGate(gate, true);
            p.terminate();
            p.join();
            assertEquals(OptionalInt.of(-15), p.exitCode());
        }
    }

    @Test
    void outputLinesArePrintedWithTheProcessName() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        CohortProcess p;
        try {
            p = cohort.process(() -> {
                System.out.println("hello");
                System.out.println("world");
                throw new IllegalArgumentException("bad input");
            }).start();
            assertTrue(p.join(LONG));
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
        assertEquals(OptionalInt.of(1), p.exitCode());
        String printed = out.toString(StandardCharsets.UTF_8);
        String prefix = "[" + p.name() + "] ";
        assertTrue(printed.contains(prefix + "hello" + System.lineSeparator() + prefix + "world"), printed);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains(prefix
                + "Exception in process target: java.lang.IllegalArgumentException: bad input"), err::toString);
    }

    /**
     * A line of 70 MB used to travel whole in one message, over the stream's limit: the
     * coordinator ended the worker's stream and the process was lost. Lines are cut now.
     */
    @Test
    void aHugeOutputLineIsCutAndTheProcessEndsNormally() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        CohortProcess p;
        try {
            p = cohort.process(() -> {
                System.out.println("x".repeat(70_000_000));
                System.out.println("after");
            }).start();
            assertTrue(p.join(LONG));
        } finally {
            System.setOut(stdout);
        }
        assertEquals(OptionalInt.of(0), p.exitCode(), () -> String.valueOf(p.failure()));
        String printed = out.toString(StandardCharsets.UTF_8);
        String prefix = "[" + p.name() + "] ";
        assertTrue(printed.contains(prefix + "x".repeat(65_536) + "... [line cut: 70000000 chars in all]"
                + System.lineSeparator() + prefix + "after"), () -> printed.length() + " chars printed");
    }

    @Test
    void aLostHostEndsItsProcessAtOnceWithTheCause() throws Exception {
        try (Gate gate = new Gate()) {
            CohortProcess p = startedAtGate(gate, false);
            long pid = p.pid();
            long daemon = activeWorkers().get(p.workerId());
            assertTrue(ProcessHandle.of(daemon).orElseThrow().destroyForcibly(), "kill -9 the worker daemon");
            assertTrue(p.join(LONG));
            assertFalse(p.isAlive());
            assertEquals(OptionalInt.of(-9), p.exitCode());
            assertInstanceOf(WorkerLostException.class, p.failure().orElseThrow());
            LocalClusterTest.waitUntil(() -> ProcessHandle.of(pid).isEmpty());   // it died with its daemon
            LocalClusterTest.waitUntil(() -> activeWorkers().size() == 2, 90);   // Cohort.local replaced the worker (a fresh JVM)
        }
    }

    /** Ad hoc: {@code -Dtest=ProcessIsolationTest#timeOfATrivialTask -Dcohort.measure=true}. */
    @Test
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "cohort.measure", matches = "true")
    void timeOfATrivialTask() throws Exception {
        // Twice each, alternating, so neither side gets the JIT's or the machine's better moment alone.
        for (Isolation isolation : List.of(Isolation.THREADS, Isolation.PROCESS, Isolation.THREADS, Isolation.PROCESS)) {
            long[] micros = new long[200];
            for (int i = -20; i < micros.length; i++) {   // 20 to warm up
                long start = System.nanoTime();
                cohort.submitShaped((Integer x) -> x + 1, i, TaskOptions.DEFAULTS,
                        spec -> spec.setIsolation(isolation).setIsolationGroup("timing")).get(60, TimeUnit.SECONDS);
                if (i >= 0) {
                    micros[i] = (System.nanoTime() - start) / 1000;
                }
            }
            java.util.Arrays.sort(micros);
            System.out.println("trivial task, " + isolation + ", 200 one after another: p50 " + micros[100]
                    + " us, p90 " + micros[180] + " us, max " + micros[199] + " us");
        }
    }
}
