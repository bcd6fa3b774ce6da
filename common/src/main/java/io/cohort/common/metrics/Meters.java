package io.cohort.common.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** A daemon's Prometheus registry: JVM meters, bytes on the wire, and the page that serves them. */
public final class Meters {
    private Meters() {
    }

    /** A registry with the JVM's meters (memory, GC, threads, classes, CPU, uptime) and {@code wire}'s bytes. */
    public static PrometheusMeterRegistry registry(String component, WireBytes wire) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags("component", component);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);   // holds GC listeners for the JVM's life: one registry per daemon
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        FunctionCounter.builder("cohort.wire.bytes", wire, WireBytes::in).baseUnit("bytes")
                .description("bytes on the wire of gRPC calls, by direction").tag("direction", "in").register(registry);
        FunctionCounter.builder("cohort.wire.bytes", wire, WireBytes::out).baseUnit("bytes")
                .description("bytes on the wire of gRPC calls, by direction").tag("direction", "out").register(registry);
        return registry;
    }

    /** Histogram buckets from 10 us to 10 min: a task of Cohort's may take either (a few, so that scrapes stay small). */
    private static final Duration[] BUCKETS = {
        Duration.ofNanos(10_000), Duration.ofNanos(100_000), Duration.ofMillis(1), Duration.ofMillis(5),
        Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(500),
        Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(60),
        Duration.ofMinutes(10)};

    /** A timer with Cohort's histogram buckets. */
    public static Timer timer(MeterRegistry registry, String name, String help) {
        return Timer.builder(name).description(help).serviceLevelObjectives(BUCKETS).register(registry);
    }

    /** Answers GET with the Prometheus text format, on the HTTP server's thread. */
    public static HttpHandler scrape(PrometheusMeterRegistry registry) {
        return (HttpExchange exchange) -> {
            try (exchange) {
                if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
                    exchange.sendResponseHeaders(405, -1);
                    return;
                }
                byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                exchange.sendResponseHeaders(200, "HEAD".equals(exchange.getRequestMethod()) ? -1 : body.length);
                if (!"HEAD".equals(exchange.getRequestMethod())) {
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                }
            } catch (IOException e) {
                // the scraper went away: nothing to answer
            }
        };
    }
}
