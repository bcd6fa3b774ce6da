package io.cohort.coordinator.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PlacementTest {
    record W(String id, boolean accepting, int slots, int unfinished, int credit, Set<String> labels,
             Map<String, Double> totals, Map<String, Double> usedMap) implements Placement.Candidate {
        @Override
        public double used(String resource) {
            return usedMap.getOrDefault(resource, 0.0);
        }

        static W of(String id, int slots, int unfinished) {
            return new W(id, true, slots, unfinished, slots + 1 - unfinished, Set.of(),
                    Map.of("cpu", (double) slots), Map.of());
        }

        W labels(String... l) {
            return new W(id, accepting, slots, unfinished, credit, Set.of(l), totals, usedMap);
        }

        W offers(String resource, double total, double used) {
            Map<String, Double> t = new HashMap<>(totals);
            t.put(resource, total);
            Map<String, Double> u = new HashMap<>(usedMap);
            u.put(resource, used);
            return new W(id, accepting, slots, unfinished, credit, labels, t, u);
        }

        W draining() {
            return new W(id, false, slots, unfinished, credit, labels, totals, usedMap);
        }

        W credit(int c) {
            return new W(id, accepting, slots, unfinished, c, labels, totals, usedMap);
        }
    }

    static Demand demand(Map<String, Double> resources, String... labels) {
        return new Demand(resources, Set.of(labels));
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("no workers", Demand.NONE, List.of(), null),
                Arguments.of("least loaded ratio", Demand.NONE, List.of(W.of("a", 4, 2), W.of("b", 2, 0)), "b"),
                Arguments.of("ratio beats count", Demand.NONE, List.of(W.of("a", 8, 2), W.of("b", 2, 1)), "a"),
                Arguments.of("equal ratio: fewer unfinished", Demand.NONE, List.of(W.of("a", 4, 2), W.of("b", 2, 1)), "b"),
                Arguments.of("full tie: id", Demand.NONE, List.of(W.of("b", 2, 0), W.of("a", 2, 0)), "a"),
                Arguments.of("draining skipped", Demand.NONE, List.of(W.of("a", 4, 0).draining(), W.of("b", 4, 3)), "b"),
                Arguments.of("no credit skipped", Demand.NONE, List.of(W.of("a", 4, 0).credit(0), W.of("b", 4, 3)), "b"),
                Arguments.of("label required", demand(Map.of(), "gpu"),
                        List.of(W.of("a", 4, 0), W.of("b", 4, 3).labels("gpu", "zone=a")), "b"),
                Arguments.of("every label required", demand(Map.of(), "gpu", "zone=b"),
                        List.of(W.of("a", 4, 0).labels("gpu", "zone=a")), null),
                Arguments.of("resource missing", demand(Map.of("gpu", 1.0)), List.of(W.of("a", 4, 0)), null),
                Arguments.of("resource free", demand(Map.of("gpu", 1.0)),
                        List.of(W.of("a", 4, 0).offers("gpu", 2, 1.5), W.of("b", 4, 3).offers("gpu", 2, 1)), "b"),
                Arguments.of("fractional sums", demand(Map.of("mem", 0.1)),
                        List.of(W.of("a", 4, 0).offers("mem", 0.3, 0.1 + 0.1)), "a"),
                Arguments.of("cpu defaults to slots", demand(Map.of("cpu", 3.0)),
                        List.of(W.of("a", 2, 0), W.of("b", 4, 3)), "b"),
                Arguments.of("cpu held by others", demand(Map.of("cpu", 2.0)),
                        List.of(W.of("a", 4, 1).offers("cpu", 4, 3)), null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void choose(String name, Demand demand, List<W> workers, String expected) {
        assertEquals(expected, Placement.choose(demand, workers).map(W::id).orElse(null));
        // The scheduler's way (first fit in load order) agrees.
        TreeSet<W> sorted = new TreeSet<>(Placement.LEAST_LOADED);
        sorted.addAll(workers);
        W first = Placement.firstFit(demand, sorted);
        assertEquals(expected, first == null ? null : first.id());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void choiceDoesNotDependOnInputOrder(String name, Demand demand, List<W> workers, String expected) {
        List<W> reversed = new ArrayList<>(workers);
        java.util.Collections.reverse(reversed);
        assertEquals(expected, Placement.choose(demand, reversed).map(W::id).orElse(null));
    }

    @org.junit.jupiter.api.Test
    void fitsEverIgnoresLoad() {
        W busy = W.of("a", 1, 2).credit(0).offers("gpu", 1, 1).labels("gpu");
        assertTrue(Placement.fitsEver(demand(Map.of("gpu", 1.0), "gpu"), busy));
        assertFalse(Placement.fitsNow(demand(Map.of("gpu", 1.0), "gpu"), busy));
        assertFalse(Placement.fitsEver(demand(Map.of("gpu", 2.0)), busy));
        assertFalse(Placement.fitsEver(demand(Map.of(), "zone=a"), busy));
        assertEquals(Arrays.asList("gpu"), List.copyOf(busy.labels()));
    }
}
