package io.cohort.worker;

import com.sun.net.httpserver.HttpServer;
import io.cohort.common.metrics.Meters;
import io.cohort.common.metrics.WireBytes;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * A worker daemon's Prometheus endpoint, on loopback only (a worker has no certificate to
 * serve TLS with: scrape it from the host, or through a proxy that adds TLS): JVM meters,
 * bytes on the wire, busy slots, tasks finished by outcome and their run times. Thread-safe.
 */
public final class WorkerMetrics implements SlotMeter, AutoCloseable {
    private final WireBytes wire = new WireBytes();
    private final PrometheusMeterRegistry registry;
    private final AtomicInteger busy = new AtomicInteger();
    private final Map<TaskStatus, LongAdder> finished = new EnumMap<>(TaskStatus.class);
    private final Timer runTime;
    private final HttpServer server;

    private WorkerMetrics(int port) throws IOException {
        registry = Meters.registry("worker", wire);
        Gauge.builder("cohort.worker.slots.busy", busy, AtomicInteger::get).description("slots running a task")
                .register(registry);
        for (TaskStatus s : new TaskStatus[] {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED,
                TaskStatus.TIMED_OUT, TaskStatus.RETURNED, TaskStatus.WORKER_LOST}) {
            LongAdder count = new LongAdder();
            finished.put(s, count);
            FunctionCounter.builder("cohort.worker.tasks.finished", count, LongAdder::sum)
                    .description("tasks this worker finished, by outcome")
                    .tag("status", s.name().toLowerCase(java.util.Locale.ROOT)).register(registry);
        }
        runTime = Meters.timer(registry, "cohort.worker.task.run.time", "tasks' run time here");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        server.createContext("/metrics", Meters.scrape(registry));
        server.setExecutor(null);   // the server's own thread: a scrape is short
        server.start();
    }

    /** Serves {@code /metrics} on 127.0.0.1:{@code port} (0: any free one). */
    public static WorkerMetrics start(int port) throws IOException {
        return new WorkerMetrics(port);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** For the worker's channel to its coordinator: counts the bytes of its calls. */
    public io.grpc.ClientInterceptor wireCounter() {
        return wire.clientInterceptor();
    }

    @Override
    public void began() {
        busy.incrementAndGet();
    }

    @Override
    public void finished(WorkerTaskResult outcome) {
        busy.decrementAndGet();
        LongAdder count = finished.get(outcome.getStatus());
        if (count != null) {
            count.increment();
        }
        if (outcome.getRunNanos() > 0) {
            runTime.record(outcome.getRunNanos(), TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        registry.close();
    }
}
