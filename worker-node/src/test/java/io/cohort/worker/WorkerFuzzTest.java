package io.cohort.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.cohort.common.Codec;
import io.cohort.common.Digests;
import io.cohort.common.Protocol;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskCancelOrder;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerWelcome;
import io.cohort.worker.FakeCoordinator.Mark;
import io.cohort.worker.FakeCoordinator.Stream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile AttachResponse sequences from a fake coordinator: assigns whose body or argument
 * is garbage or a bit-flipped encoding, unknown or lying function digests, both or neither of
 * body and digest, chunk tasks without an array, cancels of unknown tasks, duplicate assigns,
 * a second welcome, big specs, absurd attempts and timeouts, mixed with good tasks.
 * Properties, per case: the daemon never dies and keeps its stream; every good task has
 * exactly one SUCCEEDED result with its value; every hostile assign has exactly one result,
 * FAILED (or CANCELLED when it was cancelled); and the daemon still drains cleanly (exit 0).
 *
 * <p>Each case comes from its own fixed seed, so a failure names the seed that rebuilds it.
 * (The coordinator's fuzz tests have a runner that also shrinks; these cases are short
 * enough to read as they are.)
 */
@Timeout(120)
class WorkerFuzzTest {
    private static final Codec CODEC = Codec.standard();
    private static final long BASE_SEED = 21;
    private static final int CASES = 150;
    private static final Duration BUDGET = Duration.ofSeconds(15);
    /** Keeps per-stream INFO lines out of the output; a reference, or JUL forgets the level. */
    private static final Logger QUIET = Logger.getLogger("io.cohort");

    @BeforeAll
    static void quiet() {
        QUIET.setLevel(Level.WARNING);
    }

    @AfterAll
    static void loud() {
        QUIET.setLevel(null);
    }

    static Object echo(Object input) {
        return "r" + input;
    }

    private static final ByteString GOOD_BODY = CODEC.encode((TaskBody) WorkerFuzzTest::echo);

    /** One case: the messages, and how each task key must end. */
    private record Case(long seed, List<AttachResponse> messages, Map<Long, Set<TaskStatus>> endings,
                        Map<Long, ByteString> goodValues) {}

    private static byte[] flip(Random r, ByteString valid) {
        byte[] b = valid.toByteArray();
        for (int i = 1 + r.nextInt(3); i > 0; i--) {
            int bit = r.nextInt(b.length * 8);
            b[bit / 8] ^= (byte) (1 << (bit % 8));
        }
        return b;
    }

    private static ByteString junk(Random r, int max) {
        byte[] b = new byte[r.nextInt(max)];
        r.nextBytes(b);
        return ByteString.copyFrom(b);
    }

    private static Case generate(long seed) {
        Random r = new Random(seed);
        List<AttachResponse> messages = new ArrayList<>();
        Map<Long, Set<TaskStatus>> endings = new HashMap<>();
        Map<Long, ByteString> goodValues = new HashMap<>();
        long nextKey = 1;
        Set<TaskStatus> failed = Set.of(TaskStatus.FAILED);
        for (int step = 5 + r.nextInt(20); step > 0; step--) {
            AttachResponse.Builder m = AttachResponse.newBuilder();
            long key = nextKey++;
            TaskAssign.Builder a = TaskAssign.newBuilder().setTaskKey(key).setAttempt(1);
            int kind = r.nextInt(14);
            switch (kind) {
                case 0, 1, 2, 3 -> {   // good
                    long input = r.nextLong();
                    a.setSpec(TaskSpec.newBuilder().setBody(GOOD_BODY).setArgument(CODEC.encode(input)))
                            .setTimeoutMs(r.nextInt(3) == 0 ? Long.MAX_VALUE : 0);
                    goodValues.put(key, CODEC.encode("r" + input));
                    endings.put(key, Set.of(TaskStatus.SUCCEEDED));
                    m.addAssigns(a);
                    if (r.nextInt(4) == 0) {
                        m.addAssigns(a);   // a duplicate delivery, while the first is still held
                    }
                    if (r.nextInt(4) == 0) {   // asked back at once: handed back unstarted, or run to its end
                        m.addCancels(TaskCancelOrder.newBuilder().setTaskKey(key).setAttempt(1).setReclaim(true));
                        endings.put(key, Set.of(TaskStatus.SUCCEEDED, TaskStatus.RETURNED));
                    }
                }
                case 4 -> {
                    m.addAssigns(a.setSpec(TaskSpec.newBuilder().setBody(junk(r, 200))));
                    endings.put(key, failed);
                }
                case 5 -> {   // a bit-flipped body may still decode, rarely, to something that runs
                    m.addAssigns(a.setSpec(TaskSpec.newBuilder().setBody(ByteString.copyFrom(flip(r, GOOD_BODY)))
                            .setArgument(CODEC.encode(1L))));
                    endings.put(key, Set.of(TaskStatus.FAILED, TaskStatus.SUCCEEDED));
                }
                case 6 -> {
                    m.addAssigns(a.setSpec(TaskSpec.newBuilder().setFunctionDigest(junk(r, 40))));
                    endings.put(key, failed);
                }
                case 7 -> {   // a function whose digest lies about its (garbage) body
                    ByteString digest = Digests.sha256(ByteString.copyFromUtf8("lie" + key));
                    m.addFunctions(FunctionDef.newBuilder().setDigest(digest).setBody(junk(r, 100)));
                    m.addAssigns(a.setSpec(TaskSpec.newBuilder().setFunctionDigest(digest)));
                    endings.put(key, failed);
                }
                case 8 -> {
                    TaskSpec.Builder both = TaskSpec.newBuilder();
                    if (r.nextBoolean()) {
                        both.setBody(GOOD_BODY).setFunctionDigest(Digests.sha256(GOOD_BODY));
                    }
                    m.addAssigns(a.setSpec(both));
                    endings.put(key, failed);
                }
                case 9 -> {
                    m.addAssigns(a.setSpec(TaskSpec.newBuilder().setBody(GOOD_BODY).setChunk(true)
                            .setArgument(r.nextBoolean() ? CODEC.encode(3L) : junk(r, 50))));
                    endings.put(key, failed);
                }
                case 10 -> {   // a big spec: 4 MiB of garbage argument
                    m.addAssigns(a.setSpec(TaskSpec.newBuilder().setBody(GOOD_BODY)
                            .setArgument(ByteString.copyFrom(new byte[4 << 20]))).setName("big"));
                    endings.put(key, failed);
                }
                case 11 -> m.addCancels(TaskCancelOrder.newBuilder().setTaskKey(r.nextBoolean() ? r.nextLong() : 1_000_000 + key)
                        .setAttempt(r.nextInt(3)).setInterrupt(r.nextBoolean()).setSignal(r.nextInt(20)));
                case 12 -> m.setWelcome(WorkerWelcome.newBuilder().setProtocolVersion(r.nextInt(3))
                        .setWorkerId("other").setHeartbeatTimeoutMs(r.nextInt(3)));
                default -> {   // a cancel of a hostile task that may or may not have run yet
                    m.addAssigns(a.setSpec(TaskSpec.newBuilder().setBody(junk(r, 30))).setAttempt(r.nextInt()));
                    m.addCancels(TaskCancelOrder.newBuilder().setTaskKey(key).setAttempt(a.getAttempt())
                            .setInterrupt(true));
                    endings.put(key, Set.of(TaskStatus.FAILED, TaskStatus.CANCELLED));
                }
            }
            messages.add(m.build());
        }
        return new Case(seed, messages, endings, goodValues);
    }

    private static void check(Case c) throws Exception {
        try (FakeCoordinator coordinator = new FakeCoordinator()) {
            WorkerDaemon daemon = WorkerDaemon.start(WorkerConfig.builder().coordinator("in-process").slots(2)
                    .initialBackoff(Duration.ofMillis(10)).build(), coordinator.channel);
            try {
                Stream s = coordinator.attach("w-1");
                for (AttachResponse m : c.messages()) {
                    s.send(m);
                }
                for (long key : c.endings().keySet()) {
                    s.result(key);
                }
                assertFalse(daemon.termination().isDone(), "the daemon stopped: " + daemon.failure());
                assertEquals(0, daemon.drain().get(10, TimeUnit.SECONDS), "drained: " + daemon.failure());
                Map<Long, Integer> counts = new HashMap<>();
                for (Object item : s.items()) {
                    assertTrue(item != Mark.WORKER_CANCELLED, "the worker dropped its stream");
                    if (item instanceof WorkerTaskResult res) {
                        counts.merge(res.getTaskKey(), 1, Integer::sum);
                        Set<TaskStatus> allowed = c.endings().get(res.getTaskKey());
                        assertTrue(allowed != null && allowed.contains(res.getStatus()),
                                "task " + res.getTaskKey() + " ended " + res.getStatus() + ", expected " + allowed
                                        + ": " + res.getError().getMessage());
                        ByteString value = c.goodValues().get(res.getTaskKey());
                        if (value != null && res.getStatus() != TaskStatus.RETURNED) {
                            assertEquals(value, res.getValue(), "value of good task " + res.getTaskKey());
                        }
                    }
                }
                c.endings().keySet().forEach(key -> assertEquals(1, counts.get(key), "results for task " + key));
            } finally {
                daemon.close();
            }
        }
    }

    /**
     * A long run's case count ({@code -Dcohort.fuzz.cases}) or time cap in seconds
     * ({@code -Dcohort.fuzz.seconds}), as the coordinator's fuzz runner reads them; 0 when not given.
     */
    private static int longRun(String property) {
        String s = System.getProperty(property, "").trim();
        return s.isEmpty() ? 0 : Integer.parseInt(s);
    }

    @Test
    void hostileCoordinatorMessagesFailOnlyTheirOwnTasks() throws Exception {
        int requested = longRun("cohort.fuzz.cases");
        int count = requested > 0 ? requested : CASES;
        int cap = longRun("cohort.fuzz.seconds");
        Duration budget = requested == 0 ? BUDGET : cap > 0 ? Duration.ofSeconds(cap) : Duration.ofDays(365);
        long start = System.nanoTime();
        long nextProgress = start + 60_000_000_000L;
        int ran = 0;
        for (int i = 0; i < count && (ran == 0 || System.nanoTime() - start < budget.toNanos()); i++) {
            Case c = generate(BASE_SEED * 1_000_003L + i);
            ran++;
            try {
                check(c);
            } catch (Exception | AssertionError e) {
                report(ran, start, 1, requested);
                fail("worker-responses failed at case " + i + " (seed " + c.seed() + "): " + c.messages().size()
                        + " messages", e);
            }
            if (requested > 0 && System.nanoTime() > nextProgress) {
                nextProgress += 60_000_000_000L;
                System.out.printf("fuzz worker-responses: %d of %d cases so far, %.0f s%n", ran, count,
                        (System.nanoTime() - start) / 1e9);
            }
        }
        report(ran, start, 0, requested);
        if (ran < count && requested > 0) {
            System.out.printf("fuzz worker-responses: stopped by -Dcohort.fuzz.seconds=%d after %d of %d cases%n", cap,
                    ran, count);
        }
        assertTrue(ran >= 10, "ran " + ran + " cases");
    }

    /** Cases run, time and failures: the figures the fuzz reports quote. */
    private static void report(int ran, long start, int failures, int requested) {
        System.out.printf("fuzz worker-responses: %d cases in %.1f s, %d failures (base seed %d%s)%n", ran,
                (System.nanoTime() - start) / 1e9, failures, BASE_SEED, requested > 0 ? ", -Dcohort.fuzz.cases" : "");
    }

    /**
     * An assign past the 64 MiB limit ends the stream on the worker's side; the daemon
     * re-attaches and runs good tasks again.
     */
    @Test
    void oversizedAssignDropsTheStreamAndTheDaemonReattaches() throws Exception {
        try (FakeCoordinator coordinator = new FakeCoordinator(true)) {
            WorkerDaemon daemon = WorkerDaemon.start(WorkerConfig.builder().coordinator("127.0.0.1:" + coordinator.port())
                    .slots(1).initialBackoff(Duration.ofMillis(10)).build());
            try {
                Stream first = coordinator.attach("w-1");
                first.send(AttachResponse.newBuilder().addAssigns(TaskAssign.newBuilder().setTaskKey(1).setAttempt(1)
                        .setSpec(TaskSpec.newBuilder().setBody(GOOD_BODY)
                                .setArgument(ByteString.copyFrom(new byte[Protocol.MAX_MESSAGE_BYTES])))).build());
                first.await(Mark.WORKER_CANCELLED);
                Stream second = coordinator.attach("w-1");
                second.send(AttachResponse.newBuilder().addAssigns(TaskAssign.newBuilder().setTaskKey(2).setAttempt(1)
                        .setSpec(TaskSpec.newBuilder().setBody(GOOD_BODY).setArgument(CODEC.encode(5L)))).build());
                WorkerTaskResult res = second.result(2);
                assertEquals(TaskStatus.SUCCEEDED, res.getStatus(), () -> res.getError().getMessage());
                assertEquals(CODEC.encode("r5"), res.getValue());
                assertFalse(daemon.termination().isDone());
            } finally {
                daemon.close();
            }
        }
    }
}
