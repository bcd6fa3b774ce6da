package io.cohort.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WorkerConfigTest {
    @Test
    void configBuilderNamesTheBadField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WorkerConfig.builder().build());
        assertTrue(e.getMessage().contains("coordinator"), e.getMessage());
        for (Runnable bad : List.<Runnable>of(
                () -> WorkerConfig.builder().prefetch(-1),
                () -> WorkerConfig.builder().maxPrefetch(-1),
                () -> WorkerConfig.builder().drainTimeout(Duration.ofSeconds(-1)),
                () -> WorkerConfig.builder().heartbeatInterval(Duration.ZERO),
                () -> WorkerConfig.builder().resources(Map.of("gpu", -1.0)),
                () -> WorkerConfig.builder().labels(Set.of(" ")))) {
            assertThrows(IllegalArgumentException.class, bad::run);
        }
        e = assertThrows(IllegalArgumentException.class, () -> WorkerConfig.builder().coordinator("h:1")
                .initialBackoff(Duration.ofSeconds(10)).maxBackoff(Duration.ofSeconds(1)).build());
        assertTrue(e.getMessage().contains("maxBackoff"), e.getMessage());
    }

    @Test
    void targetsGetTheDefaultPortAndBadOnesAreNamed() {
        assertEquals("coord.example:7070", WorkerProcess.target("coord.example"));
        assertEquals("coord.example:7171", WorkerProcess.target("coord.example:7171"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WorkerProcess.target("h:99999"));
        assertTrue(e.getMessage().contains("h:99999"), e.getMessage());
    }
}
