package io.cohort.client;

import static io.cohort.client.TaskOptionsTest.assertBad;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;

class ClientConfigTest {

    @Test
    void defaults() {
        ClientConfig d = ClientConfig.DEFAULTS;
        assertNull(d.target());
        assertEquals(Optional.empty(), d.authToken());
        assertEquals(Optional.empty(), d.trustCertificates());
        assertEquals(Optional.empty(), d.clientCertificate());
        assertEquals(Optional.empty(), d.clientKey());
        assertEquals(Duration.ofSeconds(10), d.connectTimeout());
        assertEquals(Duration.ofSeconds(30), d.reconnectTimeout());
        assertEquals(Optional.empty(), d.callbackExecutor());
        assertEquals("cohort-client", d.clientName());
        assertEquals(Optional.empty(), d.deserializationFilter());

        ClientConfig c = ClientConfig.builder().target("localhost:7070").build();
        assertEquals("localhost:7070", c.target());
        assertEquals(d.toBuilder().target("localhost:7070").build(), c);
    }

    @Test
    void holdsWhatWasSet() {
        Executor inline = Runnable::run;
        ClientConfig c = ClientConfig.builder().target("10.0.0.1:443").authToken("s3cret")
                .trustCertificates(Path.of("ca.pem"))
                .clientCertificate(Path.of("me.pem"), Path.of("me.key"))
                .connectTimeout(Duration.ofSeconds(1)).reconnectTimeout(Duration.ZERO)
                .callbackExecutor(inline).clientName("billing")
                .deserializationFilter(" com.example.**;java.base/*;!* ").build();
        assertEquals("10.0.0.1:443", c.target());
        assertEquals(Optional.of("s3cret"), c.authToken());
        assertEquals(Optional.of(Path.of("ca.pem")), c.trustCertificates());
        assertEquals(Optional.of(Path.of("me.pem")), c.clientCertificate());
        assertEquals(Optional.of(Path.of("me.key")), c.clientKey());
        assertEquals(Duration.ofSeconds(1), c.connectTimeout());
        assertEquals(Duration.ZERO, c.reconnectTimeout());
        assertSame(inline, c.callbackExecutor().orElseThrow());
        assertEquals("billing", c.clientName());
        assertEquals(Optional.of("com.example.**;java.base/*;!*"), c.deserializationFilter());
        assertEquals(c, c.toBuilder().build());
        assertFalse(c.toString().contains("s3cret"));
    }

    @Test
    void acceptsHostPortShapes() {
        for (String t : new String[] {"localhost:1", "my-host.example.com:65535", "127.0.0.1:7070",
                "[::1]:7070", "[2001:db8::1]:50051"}) {
            assertEquals(t, ClientConfig.builder().target(t).build().target());
        }
    }

    @Test
    void targetIsRequiredAndChecked() {
        assertBad("target is required", () -> ClientConfig.builder().build());
        assertBad("target", () -> ClientConfig.builder().target(null).build());
        for (String t : new String[] {"", "localhost", "localhost:", ":7070", "localhost:0",
                "localhost:65536", "localhost:-1", "localhost:http", "::1:7070", "[::1]7070",
                "[::1]:", "a b:7070", "dns:///x:7070", "localhost:123456"}) {
            assertBad("target", () -> ClientConfig.builder().target(t).build());
        }
    }

    @Test
    void badValuesFailAtBuildNamingTheField() {
        assertBad("authToken", () -> ClientConfig.builder().target("h:1").authToken(null).build());
        assertBad("authToken", () -> ClientConfig.builder().target("h:1").authToken(" ").build());
        assertBad("trustCertificates",
                () -> ClientConfig.builder().target("h:1").trustCertificates(null).build());
        assertBad("clientCertificate", () -> ClientConfig.builder().target("h:1")
                .clientCertificate(null, Path.of("k")).build());
        assertBad("clientCertificate", () -> ClientConfig.builder().target("h:1")
                .clientCertificate(Path.of("c"), null).build());
        assertBad("connectTimeout", () -> ClientConfig.builder().target("h:1")
                .connectTimeout(Duration.ZERO).build());
        assertBad("connectTimeout", () -> ClientConfig.builder().target("h:1")
                .connectTimeout(null).build());
        assertBad("reconnectTimeout", () -> ClientConfig.builder().target("h:1")
                .reconnectTimeout(Duration.ofMillis(-1)).build());
        assertBad("callbackExecutor", () -> ClientConfig.builder().target("h:1")
                .callbackExecutor(null).build());
        assertBad("clientName", () -> ClientConfig.builder().target("h:1").clientName("").build());
        assertBad("clientName", () -> ClientConfig.builder().target("h:1").clientName(null).build());
        assertBad("deserializationFilter", () -> ClientConfig.builder().target("h:1")
                .deserializationFilter(null).build());
        assertBad("deserializationFilter", () -> ClientConfig.builder().target("h:1")
                .deserializationFilter(" ").build());
        assertBad("deserializationFilter", () -> ClientConfig.builder().target("h:1")
                .deserializationFilter("maxdepth=deep;*").build());
    }
}
