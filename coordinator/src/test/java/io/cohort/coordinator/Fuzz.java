package io.cohort.coordinator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A small property runner for the fuzz tests: each case comes from its own seed (derived from
 * one fixed base seed, so every run generates the same cases), the number of cases and the
 * time are both bounded, and a failing case is reported with the seed that rebuilds it.
 * A case shaped as a list of steps is shrunk before it is reported: steps are dropped, in
 * halves then one by one, while the property still fails.
 *
 * <p>Why not jqwik: from 1.10 its maintainers ask that it not be used by AI coding agents
 * (the "Anti-AI Usage Clause" in its user guide), and this suite was written by one.
 */
public final class Fuzz {
    /** Builds one case from its random source. */
    @FunctionalInterface
    public interface Generator<T> {
        T next(Random random);
    }

    /** Throws (an AssertionError or any exception) when the property does not hold for a case. */
    @FunctionalInterface
    public interface Property<T> {
        void check(T value) throws Exception;
    }

    private Fuzz() {}

    /** Runs {@code tries} cases (fewer if {@code budget} runs out first); returns how many ran. */
    public static <T> int check(String name, long seed, int tries, Duration budget,
                                Generator<T> generator, Property<T> property) {
        return run(name, seed, tries, budget, generator, property, null);
    }

    /** As {@link #check}, shrinking a failing list by dropping steps before reporting it. */
    public static <E> int checkSteps(String name, long seed, int tries, Duration budget,
                                     Generator<List<E>> generator, Property<List<E>> property) {
        return run(name, seed, tries, budget, generator, property, failing -> shrink(failing, property));
    }

    private static <T> int run(String name, long seed, int tries, Duration budget, Generator<T> generator,
                               Property<T> property, java.util.function.UnaryOperator<T> shrinker) {
        // Thousands of cases would print the coordinator's per-stream INFO lines by the thousand.
        Logger cohort = Logger.getLogger("io.cohort");
        Level before = cohort.getLevel();
        cohort.setLevel(Level.WARNING);
        try {
            return cases(name, seed, tries, budget, generator, property, shrinker);
        } finally {
            cohort.setLevel(before);
        }
    }

    private static <T> int cases(String name, long seed, int tries, Duration budget, Generator<T> generator,
                                 Property<T> property, java.util.function.UnaryOperator<T> shrinker) {
        long start = System.nanoTime();
        long deadline = start + budget.toNanos();
        int ran = 0;
        for (int i = 0; i < tries && (ran == 0 || System.nanoTime() < deadline); i++) {
            long caseSeed = seed * 1_000_003L + i;
            T value = generator.next(new Random(caseSeed));
            ran++;
            Throwable failure = failure(property, value);
            if (failure != null) {
                T small = shrinker == null ? value : shrinker.apply(value);
                Throwable smallFailure = small == value ? failure : failure(property, small);
                throw new AssertionError(name + " failed at case " + i + " (seed " + caseSeed + ")"
                        + (small == value ? "" : ", shrunk") + ": " + describe(small), smallFailure);
            }
        }
        // How many cases each property ran, and in how long: the counts the fuzz report quotes.
        System.out.printf("fuzz %s: %d cases in %d ms (base seed %d)%n", name, ran,
                (System.nanoTime() - start) / 1_000_000, seed);
        return ran;
    }

    private static <T> Throwable failure(Property<T> property, T value) {
        try {
            property.check(value);
            return null;
        } catch (Exception | AssertionError e) {
            return e;
        }
    }

    private static <E> List<E> shrink(List<E> failing, Property<List<E>> property) {
        List<E> current = failing;
        for (int chunk = current.size() / 2; chunk >= 1; chunk /= 2) {
            boolean removed = true;
            while (removed) {
                removed = false;
                for (int from = 0; from + chunk <= current.size(); from += chunk) {
                    List<E> candidate = new ArrayList<>(current.subList(0, from));
                    candidate.addAll(current.subList(from + chunk, current.size()));
                    if (failure(property, candidate) != null) {
                        current = candidate;
                        removed = true;
                        break;
                    }
                }
            }
        }
        return current;
    }

    private static String describe(Object value) {
        if (value instanceof List<?> steps) {
            StringBuilder b = new StringBuilder(steps.size() + " steps:");
            for (Object s : steps) {
                b.append("\n  ").append(s.toString().replace('\n', ' '));
            }
            return b.toString();
        }
        return String.valueOf(value);
    }
}
