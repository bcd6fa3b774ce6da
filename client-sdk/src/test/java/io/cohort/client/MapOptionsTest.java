package io.cohort.client;

import static io.cohort.client.TaskOptionsTest.assertBad;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class MapOptionsTest {

    @Test
    void defaults() {
        MapOptions o = MapOptions.DEFAULTS;
        assertEquals(OptionalInt.empty(), o.chunkSize());
        assertEquals(OptionalInt.empty(), o.bufferSize());
        assertEquals(Optional.empty(), o.timeout());
        assertTrue(o.ordered());
        assertEquals(TaskOptions.DEFAULTS, o.taskOptions());
        assertEquals(Optional.empty(), o.onProgress());
        assertEquals(false, o.showProgress());
        assertEquals(o, MapOptions.builder().build());
    }

    @Test
    void holdsWhatWasSet() {
        TaskOptions task = TaskOptions.builder().priority(2).build();
        java.util.function.Consumer<Progress> callback = p -> { };
        MapOptions o = MapOptions.builder().chunkSize(1).bufferSize(64)
                .timeout(Duration.ofMinutes(1)).ordered(false).taskOptions(task)
                .onProgress(callback).showProgress(true).build();
        assertEquals(Optional.of(callback), o.onProgress());
        assertTrue(o.showProgress());
        assertEquals(OptionalInt.of(1), o.chunkSize());
        assertEquals(OptionalInt.of(64), o.bufferSize());
        assertEquals(Optional.of(Duration.ofMinutes(1)), o.timeout());
        assertEquals(false, o.ordered());
        assertEquals(task, o.taskOptions());
        assertEquals(o, o.toBuilder().build());
        assertEquals(MapOptions.DEFAULTS, MapOptions.DEFAULTS.toBuilder().build());
    }

    @Test
    void badValuesFailAtBuildNamingTheField() {
        assertBad("chunkSize", () -> MapOptions.builder().chunkSize(0).build());
        assertBad("chunkSize", () -> MapOptions.builder().chunkSize(-3).build());
        assertBad("bufferSize", () -> MapOptions.builder().bufferSize(0).build());
        assertBad("bufferSize", () -> MapOptions.builder().bufferSize(-1).build());
        assertBad("timeout", () -> MapOptions.builder().timeout(Duration.ZERO).build());
        assertBad("timeout", () -> MapOptions.builder().timeout(Duration.ofSeconds(-1)).build());
        assertBad("timeout", () -> MapOptions.builder().timeout(null).build());
        assertBad("taskOptions", () -> MapOptions.builder().taskOptions(null).build());
        assertBad("onProgress", () -> MapOptions.builder().onProgress(null).build());
    }
}
