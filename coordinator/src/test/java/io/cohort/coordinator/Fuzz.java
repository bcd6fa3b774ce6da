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
 * <p>A long run: {@code -Dcohort.fuzz.cases=N} (on the Maven command line; the build passes it
 * to the test JVM) makes every property run exactly N cases, with no time budget. Without it
 * each property runs its own count, cut short by its budget on a slow machine, as CI does.
 * {@code -Dcohort.fuzz.seconds=S} caps a long run's time per property, for a machine that
 * cannot run N cases in the time it has; the report then says it stopped short, and where.
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

    /** The system property that sets every property's case count for a long run. */
    public static final String CASES_PROPERTY = "cohort.fuzz.cases";
    /** The system property that caps a long run's seconds per property (0 or absent: no cap). */
    public static final String SECONDS_PROPERTY = "cohort.fuzz.seconds";
    /** How often a long run says how far it got, so a run stopped early still has its figures. */
    private static final long PROGRESS_NANOS = 60_000_000_000L;

    private Fuzz() {}

    /** The case count a long run asks for, or 0: each property runs its own count within its budget. */
    public static int requestedCases() {
        return positive(CASES_PROPERTY, "case count");
    }

    /** A long run's time cap per property in seconds, or 0 for none. */
    public static int cappedSeconds() {
        return positive(SECONDS_PROPERTY, "number of seconds");
    }

    private static int positive(String property, String what) {
        String s = System.getProperty(property, "").trim();
        if (s.isEmpty() || s.equals("0")) {
            return 0;
        }
        try {
            int n = Integer.parseInt(s);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new IllegalArgumentException("-D" + property + " must be a positive " + what + ", not '" + s + "'");
    }

    /**
     * Runs {@code tries} cases (fewer if {@code budget} runs out first), or exactly the count a
     * long run asks for; returns how many ran.
     */
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
        int requested = requestedCases();
        boolean longRun = requested > 0;
        int count = longRun ? requested : tries;
        long start = System.nanoTime();
        int cap = cappedSeconds();
        long deadline = start + (longRun ? cap * 1_000_000_000L : budget.toNanos());
        boolean timed = !longRun || cap > 0;
        long nextProgress = start + PROGRESS_NANOS;
        int ran = 0;
        for (int i = 0; i < count && (!timed || ran == 0 || System.nanoTime() < deadline); i++) {
            long caseSeed = seed * 1_000_003L + i;
            T value = generator.next(new Random(caseSeed));
            ran++;
            Throwable failure = failure(property, value);
            if (failure != null) {
                report(name, ran, start, seed, 1, longRun);
                T small = shrinker == null ? value : shrinker.apply(value);
                Throwable smallFailure = small == value ? failure : failure(property, small);
                throw new AssertionError(name + " failed at case " + i + " (seed " + caseSeed + ")"
                        + (small == value ? "" : ", shrunk") + ": " + describe(small), smallFailure);
            }
            if (longRun && System.nanoTime() > nextProgress) {
                nextProgress += PROGRESS_NANOS;
                System.out.printf("fuzz %s: %d of %d cases so far, %.0f s%n", name, ran, count,
                        (System.nanoTime() - start) / 1e9);
            }
        }
        report(name, ran, start, seed, 0, longRun);
        if (longRun && ran < count) {
            System.out.printf("fuzz %s: stopped by -D%s=%d after %d of %d cases%n", name, SECONDS_PROPERTY, cap, ran,
                    count);
        }
        return ran;
    }

    /** Cases run, time and failures: the figures the fuzz reports quote. */
    private static void report(String name, int ran, long startNanos, long seed, int failures, boolean longRun) {
        System.out.printf("fuzz %s: %d cases in %.1f s, %d failures (base seed %d%s)%n", name, ran,
                (System.nanoTime() - startNanos) / 1e9, failures, seed, longRun ? ", -D" + CASES_PROPERTY : "");
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

    /** Waits up to 10 s for {@code condition}, polling each millisecond (a remote count settling), else fails saying {@code what}. */
    public static void awaitCondition(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            org.junit.jupiter.api.Assertions.assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(1);
        }
    }
}
