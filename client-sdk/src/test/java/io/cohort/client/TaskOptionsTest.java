package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class TaskOptionsTest {

    static void assertBad(String field, Executable build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().contains(field), () -> "message should name " + field + ": "
                + e.getMessage());
    }

    @Test
    void defaults() {
        TaskOptions o = TaskOptions.DEFAULTS;
        assertEquals(3, o.maxRetries());
        assertEquals(Optional.empty(), o.timeout());
        assertEquals(Map.of(), o.resources());
        assertEquals(Set.of(), o.labels());
        assertEquals(0, o.priority());
        assertEquals(Optional.empty(), o.name());
        assertEquals(o, TaskOptions.builder().build());
    }

    @Test
    void holdsWhatWasSet() {
        TaskOptions o = TaskOptions.builder().maxRetries(0).timeout(Duration.ofSeconds(5))
                .resources(Map.of("cpu", 2.0, "gpu", 0.0)).labels(Set.of("zone=a"))
                .priority(-7).name("resize").build();
        assertEquals(0, o.maxRetries());
        assertEquals(Optional.of(Duration.ofSeconds(5)), o.timeout());
        assertEquals(Map.of("cpu", 2.0, "gpu", 0.0), o.resources());
        assertEquals(Set.of("zone=a"), o.labels());
        assertEquals(-7, o.priority());
        assertEquals(Optional.of("resize"), o.name());
        assertEquals(o, o.toBuilder().build());
        assertEquals(o.hashCode(), o.toBuilder().build().hashCode());
    }

    @Test
    void resourceAndLabelAddToEarlierOnes() {
        TaskOptions o = TaskOptions.builder().resources(Map.of("cpu", 1.0)).resource("gpu", 1)
                .label("gpu").label("zone=a").build();
        assertEquals(Map.of("cpu", 1.0, "gpu", 1.0), o.resources());
        assertEquals(Set.of("gpu", "zone=a"), o.labels());
    }

    @Test
    void copiesCollectionsAndIsUnmodifiable() {
        Map<String, Double> resources = new HashMap<>(Map.of("cpu", 1.0));
        Set<String> labels = new HashSet<>(Set.of("a"));
        TaskOptions.Builder b = TaskOptions.builder().resources(resources).labels(labels);
        resources.put("gpu", 1.0);
        labels.add("b");
        TaskOptions o = b.build();
        assertEquals(Map.of("cpu", 1.0), o.resources());
        assertEquals(Set.of("a"), o.labels());
        assertThrows(UnsupportedOperationException.class, () -> o.resources().put("x", 1.0));
        assertThrows(UnsupportedOperationException.class, () -> o.labels().add("x"));
    }

    @Test
    void badValuesFailAtBuildNamingTheField() {
        TaskOptions.Builder negative = TaskOptions.builder().maxRetries(-1); // setter accepts it
        assertBad("maxRetries", negative::build);
        assertBad("timeout", () -> TaskOptions.builder().timeout(Duration.ZERO).build());
        assertBad("timeout", () -> TaskOptions.builder().timeout(Duration.ofMillis(-1)).build());
        assertBad("timeout", () -> TaskOptions.builder().timeout(null).build());
        assertBad("resources", () -> TaskOptions.builder().resources(null).build());
        assertBad("resources", () -> TaskOptions.builder().resource("cpu", -1).build());
        assertBad("resources", () -> TaskOptions.builder().resource("cpu", Double.NaN).build());
        assertBad("resources", () -> TaskOptions.builder()
                .resource("cpu", Double.POSITIVE_INFINITY).build());
        assertBad("resources", () -> TaskOptions.builder().resource(" ", 1).build());
        Map<String, Double> nullAmount = new LinkedHashMap<>();
        nullAmount.put("cpu", null);
        assertBad("resources", () -> TaskOptions.builder().resources(nullAmount).build());
        assertBad("labels", () -> TaskOptions.builder().labels(null).build());
        assertBad("labels", () -> TaskOptions.builder().label("").build());
        assertBad("labels", () -> TaskOptions.builder()
                .labels(new HashSet<>(java.util.Arrays.asList("a", null))).build());
        assertBad("name", () -> TaskOptions.builder().name(null).build());
        assertBad("name", () -> TaskOptions.builder().name("  ").build());
    }

    @Test
    void aLaterGoodValueReplacesABadOne() {
        TaskOptions o = TaskOptions.builder().timeout(null).timeout(Duration.ofSeconds(1))
                .maxRetries(-1).maxRetries(1).build();
        assertEquals(Optional.of(Duration.ofSeconds(1)), o.timeout());
        assertEquals(1, o.maxRetries());
    }

    @Test
    void anyPriorityIsAllowed() {
        for (int p : List.of(Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE)) {
            assertEquals(p, TaskOptions.builder().priority(p).build().priority());
        }
    }
}
