package io.cohort.client;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The client of {@link MultiHostTest}, run in its own network namespace:
 * {@code MultiHostJob TARGET CA_PEM TOKEN_FILE TASKS}. Prints {@code CUT-NOW} once a quarter of
 * the tasks are done, then {@code RESULT ...} when all are, and exits 0 only if every task
 * returned the right value.
 */
public final class MultiHostJob {
    private MultiHostJob() {}

    public static void main(String[] args) throws Exception {
        String target = args[0];
        ClientConfig config = ClientConfig.builder().target(target).trustCertificates(Path.of(args[1]))
                .authToken(Files.readString(Path.of(args[2])).trim()).connectTimeout(Duration.ofSeconds(20)).build();
        int tasks = Integer.parseInt(args[3]);
        try (CohortExecutor cohort = Cohort.connect(config)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (cohort.clusterInfo().workers().size() < 2) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the two workers did not attach: " + cohort.clusterInfo());
                }
                Thread.sleep(50);   // a separate process with nothing to wait on but the coordinator's view
            }
            List<TaskFuture<Long>> futures = new ArrayList<>();
            for (int i = 0; i < tasks; i++) {
                long x = i;
                futures.add(cohort.submit(() -> {
                    Thread.sleep(100);   // the work itself: long enough for the cut to land mid-job
                    return x * x;
                }));
            }
            int done = 0;
            for (TaskFuture<Long> f : Futures.asCompleted(futures, Duration.ofSeconds(120))) {
                if (++done == tasks / 4) {
                    System.out.println("CUT-NOW");
                    System.out.flush();
                }
            }
            Map<String, Integer> perWorker = new TreeMap<>();
            for (int i = 0; i < tasks; i++) {
                long value = futures.get(i).get();
                if (value != (long) i * i) {
                    throw new IllegalStateException("task " + i + " returned " + value);
                }
                perWorker.merge(futures.get(i).workerId(), 1, Integer::sum);
            }
            StringBuilder states = new StringBuilder();
            cohort.clusterInfo().workers().forEach(w -> states.append(' ').append(w.id()).append('=').append(w.state()));
            System.out.println("RESULT ok=" + tasks + " perWorker=" + perWorker + " states:" + states);
            System.out.flush();
        }
    }
}
