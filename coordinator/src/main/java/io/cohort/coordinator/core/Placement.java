package io.cohort.coordinator.core;

import java.util.Collection;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where a task may run: pure functions of a demand and the workers' state. The scheduler keeps
 * its accepting workers sorted by {@link #LEAST_LOADED} and takes the first that
 * {@link #fitsNow fits}, which is what {@link #choose} computes from scratch.
 */
public final class Placement {
    /** Slack for sums of fractional resource amounts. */
    static final double EPSILON = 1e-9;

    /** A worker as placement sees it. */
    public interface Candidate {
        String id();

        /** Attached and not draining. */
        boolean accepting();

        int slots();

        /** Tasks assigned to it and not yet ended. */
        int unfinished();

        /** How many more tasks it may be assigned: slots + prefetch - unfinished. */
        int credit();

        Set<String> labels();

        /** What it offers per resource ("cpu" defaults to its slots); missing = 0. */
        Map<String, Double> totals();

        /** How much of a resource its unfinished tasks hold. */
        double used(String resource);
    }

    /** Lowest unfinished/slots first, then fewer unfinished, then id. */
    public static final Comparator<Candidate> LEAST_LOADED = (a, b) -> {
        int c = Long.compare((long) a.unfinished() * b.slots(), (long) b.unfinished() * a.slots());
        if (c == 0) {
            c = Integer.compare(a.unfinished(), b.unfinished());
        }
        return c != 0 ? c : a.id().compareTo(b.id());
    };

    private Placement() {}

    /** The least loaded worker that can take the task now. */
    public static <W extends Candidate> Optional<W> choose(Demand demand, Collection<W> workers) {
        return workers.stream().filter(w -> fitsNow(demand, w)).min(LEAST_LOADED);
    }

    /** The first worker, in the given order, that can take the task now; null if none. */
    static <W extends Candidate> W firstFit(Demand demand, Iterable<W> inLoadOrder) {
        for (W w : inLoadOrder) {
            if (fitsNow(demand, w)) {
                return w;
            }
        }
        return null;
    }

    /** Accepting, with credit, carrying every label and with every resource free now. */
    public static boolean fitsNow(Demand demand, Candidate w) {
        return w.credit() > 0 && fitsIgnoringCredit(demand, w);
    }

    /** Accepting, carrying every label and with every resource free now (a process task needs no slot). */
    public static boolean fitsIgnoringCredit(Demand demand, Candidate w) {
        if (!w.accepting() || !w.labels().containsAll(demand.labels())) {
            return false;
        }
        for (Map.Entry<String, Double> r : demand.resources().entrySet()) {
            double free = w.totals().getOrDefault(r.getKey(), 0.0) - w.used(r.getKey());
            if (r.getValue() > free + EPSILON) {
                return false;
            }
        }
        return true;
    }

    /** Could run the task once idle: carries every label and offers enough of every resource. */
    public static boolean fitsEver(Demand demand, Candidate w) {
        if (!w.labels().containsAll(demand.labels())) {
            return false;
        }
        for (Map.Entry<String, Double> r : demand.resources().entrySet()) {
            if (r.getValue() > w.totals().getOrDefault(r.getKey(), 0.0) + EPSILON) {
                return false;
            }
        }
        return true;
    }
}
