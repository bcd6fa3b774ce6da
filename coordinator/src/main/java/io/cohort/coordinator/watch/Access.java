package io.cohort.coordinator.watch;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import io.cohort.coordinator.server.Authenticator;
import java.io.IOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Who may read the dashboard and the metrics: with tokens, a client or admin token, as a
 * bearer header (Prometheus, curl) or a cookie the page sets once from {@code ?token=}; without
 * tokens, anyone who reaches the port, but only under an IP address or {@code localhost}
 * (a page of another site cannot rebind its own name to the loopback address).
 */
final class Access {
    static final String COOKIE = "cohort_token";

    private final Authenticator tokens;
    private final boolean tls;
    private final Filter filter = new Filter() {
        @Override
        public void doFilter(HttpExchange exchange, Chain chain) throws IOException {
            if (admit(exchange)) {
                chain.doFilter(exchange);
            }
        }

        @Override
        public String description() {
            return "Cohort's token check";
        }
    };

    /** {@code tokens}: null when the coordinator has none. */
    Access(Authenticator tokens, boolean tls) {
        this.tokens = tokens;
        this.tls = tls;
    }

    HttpContext protect(HttpContext context) {
        context.getFilters().add(filter);
        return context;
    }

    private boolean admit(HttpExchange exchange) throws IOException {
        if (tokens == null) {
            String host = hostName(exchange.getRequestHeaders().getFirst("Host"));
            if (host == null || !(host.equals("localhost") || isIpLiteral(host))) {
                refuse(exchange, 403, "open the dashboard by IP address or as localhost, not as " + host + "\n");
                return false;
            }
            return true;
        }
        String query = queryToken(exchange.getRequestURI().getRawQuery());
        if (query != null && allowed("Bearer " + query)) {
            // From the address bar into an HttpOnly cookie, and out of the address bar.
            exchange.getResponseHeaders().add("Set-Cookie", COOKIE + "=" + URLEncoder.encode(query, StandardCharsets.UTF_8)
                    + "; Path=/; HttpOnly; SameSite=Strict" + (tls ? "; Secure" : ""));
            exchange.getResponseHeaders().set("Location", exchange.getRequestURI().getRawPath());
            exchange.sendResponseHeaders(303, -1);
            exchange.close();
            return false;
        }
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        if (allowed(header) || allowed(cookieToken(exchange.getRequestHeaders().getFirst("Cookie")))) {
            return true;
        }
        exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"cohort\"");
        refuse(exchange, 401, "this coordinator needs a client or admin token: open /?token=TOKEN once,"
                + " or send the header 'Authorization: Bearer TOKEN'\n");
        return false;
    }

    private boolean allowed(String bearer) {
        Authenticator.Role role = bearer == null ? null : tokens.roleOf(bearer);
        return role == Authenticator.Role.CLIENT || role == Authenticator.Role.ADMIN;
    }

    private static String queryToken(String rawQuery) {
        if (rawQuery == null) {
            return null;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.startsWith("token=")) {
                return URLDecoder.decode(pair.substring("token=".length()), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static String cookieToken(String cookies) {
        if (cookies == null) {
            return null;
        }
        for (String c : cookies.split(";")) {
            String kv = c.trim();
            if (kv.startsWith(COOKIE + "=")) {
                return "Bearer " + URLDecoder.decode(kv.substring(COOKIE.length() + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /** The Host header without its port (and an IPv6 literal without brackets), or null. */
    static String hostName(String header) {
        if (header == null || header.isEmpty()) {
            return null;
        }
        if (header.startsWith("[")) {
            int end = header.indexOf(']');
            return end < 0 ? null : header.substring(1, end);
        }
        int colon = header.indexOf(':');
        return (colon < 0 ? header : header.substring(0, colon)).toLowerCase(java.util.Locale.ROOT);
    }

    private static boolean isIpLiteral(String host) {
        return host.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}") || (host.contains(":") && host.matches("[0-9a-fA-F:.]+"));
    }

    static void refuse(HttpExchange exchange, int code, String message) throws IOException {
        byte[] body = message.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(code, body.length);
        try (var out = exchange.getResponseBody()) {
            out.write(body);
        }
        exchange.close();
    }
}
