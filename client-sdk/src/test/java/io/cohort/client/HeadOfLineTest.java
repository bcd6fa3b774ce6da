package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Prefetch without head-of-line blocking, as a new user meets it: a {@code map} with
 * {@code chunkSize(1)} over six inputs on two worker JVMs of one slot each (what
 * {@code Cohort.local(2)} gives on a 2-core machine), where input 0 blocks until the test
 * releases it and the others return at once. Like Python's executors, the idle worker takes
 * the inputs queued behind the blocked one: here input 2 was prefetched to the worker that
 * input 0 holds, and is handed back to the other. Every input runs exactly once.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HeadOfLineTest {
    private static final int INPUTS = 6;
    private static CohortExecutor cohort;

    @BeforeAll
    static void startCluster() throws InterruptedException {
        cohort = Cohort.local(LocalClusterConfig.builder().workers(2).slotsPerWorker(1).build());
        LocalClusterTest.awaitActiveWorkers(cohort, 2);
    }

    @AfterAll
    static void stopCluster() {
        if (cohort != null) {
            cohort.close();
        }
    }

    @ParameterizedTest(name = "ordered={0}")
    @ValueSource(booleans = {true, false})
    void inputsBehindABlockedOneFinishWhileItBlocks(boolean ordered) throws Exception {
        String name = "hol-" + ordered + "-" + System.nanoTime();   // shared objects are the cluster's: one set per run
        SharedEvent release = cohort.sharedEvent(name + "-release");
        SharedEvent othersDone = cohort.sharedEvent(name + "-others-done");
        SharedLong othersFinished = cohort.sharedLong(name + "-others-finished", 0);
        SharedLongArray runs = cohort.sharedLongArray(name + "-runs", INPUTS);
        List<Integer> inputs = new ArrayList<>();
        for (int i = 0; i < INPUTS; i++) {
            inputs.add(i);
        }

        MapResult<Integer> results = cohort.map((Integer i) -> {
            runs.addAndGet(i, 1);
            if (i == 0) {
                release.await();
            } else if (othersFinished.incrementAndGet() == INPUTS - 1) {
                othersDone.set();
            }
            return i * 10;
        }, inputs, MapOptions.builder().chunkSize(1).ordered(ordered).build());
        try {
            assertTrue(othersDone.await(Duration.ofSeconds(60)),
                    () -> "inputs 1..5 did not all run while input 0 blocked; runs per input: "
                            + java.util.Arrays.toString(runs.toArray()));
            assertEquals(1, runs.get(0), "input 0 is running, blocked");
            Iterator<Integer> it = results.iterator();
            if (!ordered) {
                Set<Integer> first = new HashSet<>();
                for (int k = 0; k < INPUTS - 1; k++) {
                    first.add(it.next());
                }
                assertEquals(Set.of(10, 20, 30, 40, 50), first, "unordered: the five that finished come first");
            }
            release.set();
            List<Integer> rest = new ArrayList<>();
            it.forEachRemaining(rest::add);
            assertEquals(ordered ? List.of(0, 10, 20, 30, 40, 50) : List.of(0), rest);
        } finally {
            release.set();   // a failed assertion must not leave input 0 holding its worker
            results.close();
        }
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1}, runs.toArray(), "each input ran exactly once");
    }
}
