package io.cohort.client;

import static io.cohort.client.TaskOptionsTest.assertBad;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class LocalClusterConfigTest {

    @Test
    void defaults() {
        LocalClusterConfig d = LocalClusterConfig.DEFAULTS;
        assertEquals(2, d.workers());
        assertEquals(OptionalInt.empty(), d.slotsPerWorker());
        assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors() / 2),
                d.slotsPerWorkerOrDefault());
        assertEquals(List.of(), d.jvmOptions());
        assertEquals(Duration.ofSeconds(60), d.startTimeout());
        assertTrue(d.replaceLostWorkers());
        assertEquals(java.util.Optional.empty(), d.deserializationFilter());
        assertEquals(java.util.Optional.empty(), d.javaHome());
        assertEquals(d, LocalClusterConfig.builder().build());
    }

    @Test
    void defaultSlotsAreAtLeastOne() {
        LocalClusterConfig many = LocalClusterConfig.builder().workers(100_000).build();
        assertEquals(1, many.slotsPerWorkerOrDefault());
    }

    @Test
    void holdsWhatWasSet() {
        List<String> options = new ArrayList<>(List.of("-Xmx256m"));
        LocalClusterConfig.Builder b = LocalClusterConfig.builder().workers(3).slotsPerWorker(5)
                .jvmOptions(options).startTimeout(Duration.ofSeconds(5)).replaceLostWorkers(false)
                .deserializationFilter("com.example.**;!*").javaHome(java.nio.file.Path.of("/opt/jdk"));
        options.add("-ea");
        LocalClusterConfig c = b.build();
        assertEquals(3, c.workers());
        assertEquals(OptionalInt.of(5), c.slotsPerWorker());
        assertEquals(5, c.slotsPerWorkerOrDefault());
        assertEquals(List.of("-Xmx256m"), c.jvmOptions());
        assertEquals(Duration.ofSeconds(5), c.startTimeout());
        assertFalse(c.replaceLostWorkers());
        assertEquals(java.util.Optional.of("com.example.**;!*"), c.deserializationFilter());
        assertEquals(java.util.Optional.of(java.nio.file.Path.of("/opt/jdk")), c.javaHome());
        assertEquals(java.util.Optional.empty(), c.classPath(), "found at run time unless set");
        assertEquals(c, c.toBuilder().build());
        List<java.nio.file.Path> jars = new ArrayList<>(List.of(java.nio.file.Path.of("/app/lib/a.jar")));
        LocalClusterConfig withClassPath = c.toBuilder().classPath(jars).build();
        jars.add(java.nio.file.Path.of("/app/lib/b.jar"));
        assertEquals(java.util.Optional.of(List.of(java.nio.file.Path.of("/app/lib/a.jar"))), withClassPath.classPath());
        assertEquals(withClassPath, withClassPath.toBuilder().build());
    }

    @Test
    void badValuesFailAtBuildNamingTheField() {
        assertBad("workers", () -> LocalClusterConfig.builder().workers(0).build());
        assertBad("workers", () -> LocalClusterConfig.builder().workers(-2).build());
        assertBad("slotsPerWorker", () -> LocalClusterConfig.builder().slotsPerWorker(0).build());
        assertBad("jvmOptions", () -> LocalClusterConfig.builder().jvmOptions(null).build());
        assertBad("jvmOptions", () -> LocalClusterConfig.builder()
                .jvmOptions(Arrays.asList("-ea", null)).build());
        assertBad("jvmOptions", () -> LocalClusterConfig.builder().jvmOptions(List.of(" ")).build());
        assertBad("startTimeout", () -> LocalClusterConfig.builder()
                .startTimeout(Duration.ZERO).build());
        assertBad("startTimeout", () -> LocalClusterConfig.builder().startTimeout(null).build());
        assertBad("deserializationFilter", () -> LocalClusterConfig.builder().deserializationFilter(null).build());
        assertBad("javaHome", () -> LocalClusterConfig.builder().javaHome(null).build());
        assertBad("classPath", () -> LocalClusterConfig.builder().classPath(null).build());
        assertBad("classPath", () -> LocalClusterConfig.builder().classPath(List.of()).build());
        assertBad("deserializationFilter", () -> LocalClusterConfig.builder()
                .deserializationFilter("maxrefs=-;*").build());
    }
}
