package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Prometheus endpoints of a coordinator JVM and two worker JVMs, scraped before, during
 * and after a 10,000-task job: every counter rose by exactly what the job did.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class MetricsEndpointTest {
    private static final int TASKS = 10_000;
    private static final int FAILING = 10;   // every 1,000th task throws

    @Test
    void countersRiseByExactlyWhatA10000TaskJobDid() throws Exception {
        try (CoordinatorProcesses coordinators = new CoordinatorProcesses();
             WorkerProcesses workers = new WorkerProcesses()) {
            coordinators.start(List.of(), "--port", "0", "--metrics-port", "0");
            String target = find(coordinators, "listening on (\\S+)");
            String metrics = "http://" + find(coordinators, "cohort metrics on http://(\\S+)");
            int[] workerPorts = {CoordinatorProcesses.freePort(), CoordinatorProcesses.freePort()};
            workers.start(target, "m-1", "--metrics-port", Integer.toString(workerPorts[0]));
            workers.start(target, "m-2", "--metrics-port", Integer.toString(workerPorts[1]));
            try (CohortExecutor cohort = Cohort.connect(ClientConfig.builder().target(target)
                    .connectTimeout(java.time.Duration.ofSeconds(60)).build())) {   // a loaded machine is slow to answer
                LocalClusterTest.awaitActiveWorkers(cohort, 2);
                LocalClusterTest.waitUntil(() -> gauge(metrics, "cohort_workers", "state=\"active\"") == 2, 30);
                PrometheusText before = PrometheusText.scrape(metrics);
                PrometheusText[] workersBefore = {worker(workerPorts[0]), worker(workerPorts[1])};

                List<TaskFuture<Integer>> futures = new ArrayList<>(TASKS);
                for (int i = 0; i < TASKS; i++) {
                    futures.add(cohort.submit((Integer x) -> {
                        if (x % (TASKS / FAILING) == 1) {   // 1, 1001, ..., 9001
                            throw new IllegalStateException("task " + x + " fails on purpose");
                        }
                        return x;
                    }, i));
                }
                // During the job: the counters only go up.
                LocalClusterTest.waitUntil(() -> delta(before, metrics, "cohort_tasks_submitted_total") > 0, 30);
                PrometheusText during = PrometheusText.scrape(metrics);
                int failed = 0;
                for (TaskFuture<Integer> f : futures) {
                    try {
                        f.get(120, TimeUnit.SECONDS);
                    } catch (ExecutionException e) {
                        assertTrue(e.getCause() instanceof IllegalStateException, String.valueOf(e.getCause()));
                        failed++;
                    }
                }
                assertEquals(FAILING, failed);

                // The histograms are fed off the scheduler's thread: wait for them to catch up. A task
                // handed back unstarted for an idle worker (a reclaim) waits in the queue twice.
                LocalClusterTest.waitUntil(() -> delta(before, metrics, "cohort_task_queue_wait_seconds_count") >= TASKS
                        && delta(before, metrics, "cohort_task_run_time_seconds_count") == TASKS, 30);
                PrometheusText after = PrometheusText.scrape(metrics);
                assertTrue(delta(before, during, "cohort_tasks_submitted_total")
                        <= delta(before, after, "cohort_tasks_submitted_total"));
                assertEquals(TASKS, delta(before, after, "cohort_tasks_submitted_total"));
                assertEquals(TASKS, delta(before, after, "cohort_tasks_started_total"));
                assertEquals(TASKS - FAILING, delta(before, after, "cohort_tasks_succeeded_total"));
                assertEquals(FAILING, delta(before, after, "cohort_tasks_failed_total"));
                for (String none : List.of("cohort_tasks_retried_total", "cohort_tasks_cancelled_total",
                        "cohort_tasks_timed_out_total", "cohort_tasks_rejected_total", "cohort_tasks_worker_lost_total")) {
                    assertEquals(0, delta(before, after, none), none);
                }
                for (String level : List.of("cohort_tasks_queued", "cohort_tasks_assigned", "cohort_tasks_running")) {
                    assertEquals(0, after.sum(level), level + " after the job");
                }
                assertTrue(delta(before, after, "cohort_wire_bytes_total", "direction=\"in\"") > TASKS, "bytes in");
                assertTrue(delta(before, after, "cohort_wire_bytes_total", "direction=\"out\"") > TASKS, "bytes out");
                assertTrue(after.has("jvm_memory_used_bytes") && after.has("jvm_gc_pause_seconds_count")
                        || after.has("jvm_memory_used_bytes"), "JVM meters");
                assertTrue(after.has("cohort_journal_write_seconds_count"), "the journal's histogram (empty: no journal)");

                // The workers: what each finished adds up to the job.
                PrometheusText[] workersAfter = {worker(workerPorts[0]), worker(workerPorts[1])};
                double succeeded = 0;
                double threw = 0;
                for (int w = 0; w < 2; w++) {
                    succeeded += delta(workersBefore[w], workersAfter[w], "cohort_worker_tasks_finished_total", "status=\"succeeded\"");
                    threw += delta(workersBefore[w], workersAfter[w], "cohort_worker_tasks_finished_total", "status=\"failed\"");
                    assertTrue(delta(workersBefore[w], workersAfter[w], "cohort_wire_bytes_total", "direction=\"in\"") > 0);
                    assertEquals(0, workersAfter[w].sum("cohort_worker_slots_busy"));
                    assertTrue(workersAfter[w].has("jvm_threads_live_threads"), "worker JVM meters");
                }
                assertEquals(TASKS - FAILING, succeeded);
                assertEquals(FAILING, threw);
            }
        }
    }

    private static PrometheusText worker(int port) throws Exception {
        return PrometheusText.scrape("http://127.0.0.1:" + port + "/metrics");
    }

    private static double delta(PrometheusText before, PrometheusText after, String name, String... labels) {
        return after.sum(name, labels) - before.sum(name, labels);
    }

    private static double delta(PrometheusText before, String url, String name) {
        try {
            return delta(before, PrometheusText.scrape(url), name);
        } catch (java.io.IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static double gauge(String url, String name, String label) {
        try {
            return PrometheusText.scrape(url).sum(name, label);
        } catch (java.io.IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** The first group of {@code regex} in the coordinator's output, waiting for it to be printed. */
    static String find(CoordinatorProcesses coordinators, String regex) throws InterruptedException {
        Pattern p = Pattern.compile(regex);
        String[] found = new String[1];
        LocalClusterTest.waitUntil(() -> {
            Matcher m = p.matcher(coordinators.output());
            return m.find() && (found[0] = m.group(1)) != null;
        }, 30);
        return found[0];
    }
}
