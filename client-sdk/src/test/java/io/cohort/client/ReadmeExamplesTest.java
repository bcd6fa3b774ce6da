package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's multiprocessing example, as written there, so the README cannot rot. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReadmeExamplesTest {

    @Test
    void poolAndSharedObjectsExample() throws Exception {
        Set<Integer> unordered = new TreeSet<>();
        try (CohortExecutor ex = Cohort.local(2)) {
            try (CohortPool pool = ex.pool(PoolOptions.builder().processes(4)
                    .initializer(() -> System.setProperty("db", "ready")).build())) {
                for (Integer n : pool.imapUnordered((Integer x) -> x * x, List.of(1, 2, 3, 4, 5))) {
                    unordered.add(n);
                }
                List<Integer> squares = pool.map((Integer x) -> x * x, List.of(1, 2, 3));
                assertEquals(List.of(1, 4, 9), squares);
            }

            SharedLong hits = ex.sharedLong("hits", 0);
            SharedQueue<String> work = ex.sharedQueue("work", 100);
            for (int i = 0; i < 10; i++) {
                work.put("item-" + i);
            }
            List<TaskFuture<Integer>> consumers = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                consumers.add(ex.submit(() -> {
                    int taken = 0;
                    while (work.poll(Duration.ofMillis(200)) != null) {
                        hits.incrementAndGet();
                        taken++;
                    }
                    return taken;
                }));
            }
            int taken = 0;
            for (TaskFuture<Integer> f : consumers) {
                taken += f.get();
            }
            assertEquals(10, hits.get());
            assertEquals(10, taken);
        }
        assertEquals(Set.of(1, 4, 9, 16, 25), unordered);
    }
}
