package io.cohort.coordinator.watch;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The dashboard's pages: its assets (from the jar, nothing from anywhere else), the event
 * stream of snapshots (server-sent events, one a second), the latest snapshot, and one recent
 * task's history. Each answer reads what the {@link Watch} made on its own thread.
 */
final class DashboardPages implements AutoCloseable {
    private static final Map<String, String> ASSETS = Map.of(
            "/", "index.html", "/index.html", "index.html",
            "/dashboard.js", "dashboard.js", "/dashboard.css", "dashboard.css");
    /** A comment line this often keeps an idle stream's proxies from closing it. */
    private static final long KEEPALIVE_MS = 15_000;

    private final Watch watch;
    private final int maxStreams;
    private final AtomicInteger streams = new AtomicInteger();
    private volatile boolean closed;

    DashboardPages(Watch watch, int maxStreams) {
        this.watch = watch;
        this.maxStreams = maxStreams;
    }

    void addTo(HttpServer server, Access access) {
        access.protect(server.createContext("/", this::asset));
        access.protect(server.createContext("/events", this::events));
        access.protect(server.createContext("/snapshot", e -> json(e, 200, watch.latest())));
        access.protect(server.createContext("/task", this::task));
    }

    private void asset(HttpExchange e) throws IOException {
        String name = ASSETS.get(e.getRequestURI().getPath());
        if (name == null) {
            Access.refuse(e, 404, "no such page\n");
            return;
        }
        byte[] body;
        try (InputStream in = DashboardPages.class.getResourceAsStream("dashboard/" + name)) {
            if (in == null) {
                throw new IllegalStateException("the dashboard's " + name + " is missing from the jar");
            }
            body = in.readAllBytes();
        }
        String type = name.endsWith(".html") ? "text/html" : name.endsWith(".js") ? "text/javascript" : "text/css";
        send(e, 200, type + "; charset=utf-8", body);
    }

    private void events(HttpExchange e) throws IOException {
        if (streams.incrementAndGet() > maxStreams) {
            streams.decrementAndGet();
            Access.refuse(e, 503, "too many open dashboards (" + maxStreams + "): close one\n");
            return;
        }
        try (e) {
            headers(e, "text/event-stream; charset=utf-8");
            e.getResponseHeaders().set("Cache-Control", "no-store");
            e.sendResponseHeaders(200, 0);
            OutputStream out = e.getResponseBody();
            long seen = watch.version() - 1;   // the latest at once, then each new one
            while (!closed) {
                String snapshot = watch.next(seen, KEEPALIVE_MS);
                if (snapshot == null) {
                    out.write(": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII));
                } else {
                    seen = watch.version();
                    out.write(("data: " + snapshot + "\n\n").getBytes(StandardCharsets.UTF_8));
                }
                out.flush();
            }
        } catch (IOException gone) {
            // the page was closed
        } catch (InterruptedException stopping) {
            Thread.currentThread().interrupt();
        } finally {
            streams.decrementAndGet();
        }
    }

    private void task(HttpExchange e) throws IOException {
        String query = e.getRequestURI().getQuery();
        long key;
        try {
            key = Long.parseUnsignedLong(query == null || !query.startsWith("key=") ? "" : query.substring(4));
        } catch (NumberFormatException bad) {
            json(e, 400, "{\"error\":\"give a task key: /task?key=N\"}");
            return;
        }
        String history;
        try {
            history = watch.history(key);
        } catch (InterruptedException stopping) {
            Thread.currentThread().interrupt();
            return;
        }
        if (history == null) {
            json(e, 404, "{\"error\":\"task " + Long.toUnsignedString(key) + " is not among the last "
                    + ClusterView.MAX_HISTORIES + " tasks the dashboard keeps\"}");
        } else {
            json(e, 200, history);
        }
    }

    private static void json(HttpExchange e, int code, String body) throws IOException {
        send(e, code, "application/json", body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange e, int code, String type, byte[] body) throws IOException {
        try (e) {
            headers(e, type);
            e.sendResponseHeaders(code, body.length);
            try (OutputStream out = e.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static void headers(HttpExchange e, String type) {
        e.getResponseHeaders().set("Content-Type", type);
        e.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        e.getResponseHeaders().set("X-Frame-Options", "DENY");
        e.getResponseHeaders().set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:");
        e.getResponseHeaders().set("Referrer-Policy", "no-referrer");
    }

    /** Ends the open event streams at their next snapshot or keep-alive. */
    @Override
    public void close() {
        closed = true;
    }
}
