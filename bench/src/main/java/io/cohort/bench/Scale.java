package io.cohort.bench;

import io.cohort.client.Cohort;
import io.cohort.client.CohortExecutor;
import io.cohort.client.MapResult;
import io.cohort.client.RemoteFunction;
import io.cohort.client.TaskFuture;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.StatusRequest;
import io.cohort.proto.v1.StatusResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.TimeUnit;

/** S1 (memory with many tasks) and S2 (many simulated workers). */
final class Scale {
    private Scale() {
    }

    /** S1's first figure: what it measured and with how many tasks queued. */
    record Queued(double bytesPerTask, long queued, long emptyHeapBytes, long fullHeapBytes, double submitSeconds) {
    }

    /**
     * Queues {@code tasks} trivial tasks at a coordinator JVM with no worker attached and
     * compares its heap after a full GC with the same coordinator's heap before (a client
     * session open, nothing queued). Submission stops early after {@code maxSeconds}.
     */
    static Queued queuedHeap(int tasks, double maxSeconds) throws Exception {
        RemoteFunction<Long, Long> inc = x -> x + 1;
        // placement timeout far beyond the run: queued tasks must stay queued, not fail
        try (Cluster cluster = Cluster.start(0, "--placement-timeout", "1h");
             CohortExecutor cohort = Cohort.connect(cluster.target())) {
            ManagedChannel admin = ManagedChannelBuilder.forTarget(cluster.target()).usePlaintext().build();
            try {
                cohort.clusterInfo();   // the session and admin channel exist before the baseline
                long empty = heapAfterGc(admin).getHeapUsedAfterGcBytes();
                long start = System.nanoTime();
                long deadline = start + (long) (maxSeconds * 1e9);
                List<TaskFuture<Long>> futures = new ArrayList<>(tasks);
                for (long i = 0; i < tasks && (i % 10_000 != 0 || System.nanoTime() < deadline); i++) {
                    futures.add(cohort.submit(inc, i));
                }
                int submitted = futures.size();
                StatusResponse full = heapAfterGc(admin);
                long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (full.getQueuedTasks() < submitted && System.nanoTime() < waitUntil) {
                    Thread.sleep(200);   // submits may still be on the wire
                    full = heapAfterGc(admin);
                }
                double seconds = Workloads.seconds(start);
                long queued = full.getQueuedTasks();
                if (queued == 0) {
                    throw new IllegalStateException("S1: no task was queued at the coordinator");
                }
                long fullHeap = full.getHeapUsedAfterGcBytes();
                futures.forEach(f -> f.cancel(false));
                return new Queued((double) (fullHeap - empty) / queued, queued, empty, fullHeap, seconds);
            } finally {
                admin.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    private static StatusResponse heapAfterGc(ManagedChannel admin) {
        return AdminServiceGrpc.newBlockingStub(admin).withDeadlineAfter(60, TimeUnit.SECONDS)
                .status(StatusRequest.newBuilder().setMeasureHeap(true).build());
    }

    /** S1's second figure: this (client) JVM's heap after GC, sampled while a lazy map runs. */
    record MapHeap(long minBytes, long maxBytes, long elements, int samples, double seconds) {
    }

    /**
     * Maps {@code elements} inputs made one at a time (never a list) through {@code cohort},
     * sampling the client's heap after a full GC {@code samples} times along the way. Stops
     * early after {@code maxSeconds}; {@code elements} in the answer is how far it got.
     */
    static MapHeap lazyMapHeap(CohortExecutor cohort, long elements, int samples, double maxSeconds) throws Exception {
        RemoteFunction<Long, Long> inc = x -> x + 1;
        Iterable<Long> inputs = () -> new Iterator<>() {
            private long next;

            @Override
            public boolean hasNext() {
                return next < elements;
            }

            @Override
            public Long next() {
                if (next >= elements) {
                    throw new NoSuchElementException();
                }
                return next++;
            }
        };
        // a sample every `every` elements, or every `gap` of time when the map is slower than that
        long every = Math.max(1, elements / samples);
        long start = System.nanoTime();
        long gap = (long) (maxSeconds * 1e9 / samples);
        long deadline = start + (long) (maxSeconds * 1e9);
        long min = clientHeapAfterGc();   // before the map: the flat line to compare with
        long max = min;
        int taken = 1;
        long seen = 0;
        long lastSample = System.nanoTime();
        try (MapResult<Long> results = cohort.map(inc, inputs)) {
            Iterator<Long> it = results.iterator();
            while (it.hasNext()) {
                long r = it.next();
                if (r != seen + 1) {
                    throw new IllegalStateException("S1: map element " + seen + " gave " + r);
                }
                seen++;
                long now = System.nanoTime();
                if (seen % every == 0 || now - lastSample > gap) {
                    long used = clientHeapAfterGc();
                    min = Math.min(min, used);
                    max = Math.max(max, used);
                    taken++;
                    lastSample = System.nanoTime();
                }
                if (now > deadline) {
                    break;   // bounded in time; the figure says how far it got
                }
            }
        }
        return new MapHeap(min, max, seen, taken, Workloads.seconds(start));
    }

    private static long clientHeapAfterGc() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /**
     * S2: a coordinator JVM, {@code workers} simulated workers of {@code slots} slots in one
     * other JVM, and W1's load from this one; each element of the answer is one run's tasks/s
     * (the first, a warm-up, is not returned).
     */
    static double[] simulatedWorkers(int workers, int slots, int tasks, int runs) throws Exception {
        try (Cluster cluster = Cluster.start(0)) {
            Process sims = cluster.launch("sim-workers", SimWorkers.class.getName(), cluster.target(),
                    Integer.toString(workers), Integer.toString(slots));
            awaitLine(sims, "attached ", 180);
            Cluster.awaitWorkers(cluster.target(), workers);
            try (CohortExecutor cohort = Cohort.connect(cluster.target())) {
                Workloads.w1(cohort, tasks);
                double[] xs = new double[runs];
                for (int i = 0; i < runs; i++) {
                    xs[i] = Workloads.w1(cohort, tasks);
                }
                return xs;
            }
        }
    }

    private static void awaitLine(Process p, String prefix, int seconds) throws IOException, InterruptedException {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Thread reader = new Thread(() -> {
            try {
                String line;
                while ((line = out.readLine()) != null && !line.startsWith(prefix)) {
                    // skip
                }
            } catch (IOException ignored) {
                // the process ended; checked below
            }
        }, "bench-await-line");
        reader.setDaemon(true);
        reader.start();
        reader.join(TimeUnit.SECONDS.toMillis(seconds));
        if (reader.isAlive() || !p.isAlive()) {
            throw new IOException("simulated workers did not attach within " + seconds + " s");
        }
    }
}
