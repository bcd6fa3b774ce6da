package io.cohort.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One process's CPU profile in async-profiler's collapsed format ({@code frame;frame;... count},
 * root first), summed up: where the samples went by kind of thread, the Java threads' hottest
 * self frames and the hottest Cohort frames including their callees.
 */
final class ProfileSummary {
    /** The kinds of thread a sample can come from, as the summary names them. */
    enum Kind {
        JAVA("java"), JIT_C2("jit-c2"), JIT_C1("jit-c1"), GC("gc"), OTHER_VM("other-vm");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    /** A Java frame as async-profiler writes it, e.g. {@code java/lang/Thread.run}; native ones have no dot or a {@code ::}. */
    private static final Pattern JAVA_FRAME = Pattern.compile("[\\w$/]+\\.[\\w$<>]+");

    private final Map<Kind, Long> byKind = new EnumMap<>(Kind.class);
    private final Map<String, Long> javaSelf = new HashMap<>();
    private final Map<String, Long> cohortInclusive = new HashMap<>();
    private long total;

    static ProfileSummary read(Path collapsed) throws IOException {
        return of(Files.readAllLines(collapsed));
    }

    static ProfileSummary of(List<String> lines) {
        ProfileSummary s = new ProfileSummary();
        for (Kind k : Kind.values()) {
            s.byKind.put(k, 0L);
        }
        for (String line : lines) {
            int space = line.lastIndexOf(' ');
            if (space > 0) {
                s.add(line.substring(0, space).split(";"), Long.parseLong(line.substring(space + 1).trim()));
            }
        }
        return s;
    }

    private void add(String[] frames, long samples) {
        total += samples;
        Kind kind = kind(frames);
        byKind.merge(kind, samples, Long::sum);
        if (kind == Kind.JAVA) {
            javaSelf.merge(frames[frames.length - 1], samples, Long::sum);
        }
        Set<String> cohort = new LinkedHashSet<>();   // a recursive frame counts once per stack
        for (String f : frames) {
            if (f.startsWith("io/cohort/")) {
                cohort.add(f);
            }
        }
        cohort.forEach(f -> cohortInclusive.merge(f, samples, Long::sum));
    }

    /**
     * A Java thread's stack is rooted in a Java frame (after {@code [unknown]} where the walk was
     * cut short); the JVM's own threads start in native code, and their compiler or collector
     * frames tell which they are (C1's classes are {@code Compiler} and {@code Compilation};
     * G1's start with G1 and run on GC worker threads).
     */
    private static Kind kind(String[] frames) {
        int root = frames[0].equals("[unknown]") && frames.length > 1 ? 1 : 0;
        if (JAVA_FRAME.matcher(frames[root]).matches()) {
            return Kind.JAVA;
        }
        boolean c1 = false;
        boolean gc = false;
        for (String f : frames) {
            if (f.startsWith("C2Compiler::")) {
                return Kind.JIT_C2;
            }
            c1 |= f.startsWith("Compiler::") || f.startsWith("Compilation::");
            gc |= f.startsWith("G1") || f.startsWith("VM_G1") || f.startsWith("GangWorker::")
                    || f.startsWith("WorkerThread::") || f.startsWith("ConcurrentGCThread::");
        }
        return c1 ? Kind.JIT_C1 : gc ? Kind.GC : Kind.OTHER_VM;
    }

    long total() {
        return total;
    }

    long samples(Kind kind) {
        return byKind.get(kind);
    }

    /** The {@code n} frames the Java threads spent most samples in themselves, most first. */
    List<Map.Entry<String, Long>> topSelf(int n) {
        return top(javaSelf, n);
    }

    /** The {@code n} {@code io/cohort/} frames with most samples in them or their callees, most first. */
    List<Map.Entry<String, Long>> topCohort(int n) {
        return top(cohortInclusive, n);
    }

    private static List<Map.Entry<String, Long>> top(Map<String, Long> counts, int n) {
        return counts.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .limit(n)
                .toList();
    }

    /** The readable block for one process that used {@code cpuMs} of CPU; percentages are of its samples. */
    String text(String process, double cpuMs) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%s: %.0f ms of CPU, %d samples%n", process, cpuMs, total));
        b.append(" ");
        for (Kind k : Kind.values()) {
            b.append(String.format(Locale.ROOT, " %s %d (%s)", k.label, samples(k), percent(samples(k))));
        }
        b.append(String.format("%n  top self frames of the Java threads:%n"));
        topSelf(15).forEach(e -> b.append(line(e)));
        b.append(String.format("  top io/cohort frames, with their callees:%n"));
        topCohort(10).forEach(e -> b.append(line(e)));
        return b.toString();
    }

    private String line(Map.Entry<String, Long> e) {
        return String.format(Locale.ROOT, "    %6s %7d  %s%n", percent(e.getValue()), e.getValue(), e.getKey());
    }

    private String percent(long samples) {
        return String.format(Locale.ROOT, "%.1f%%", total == 0 ? 0.0 : 100.0 * samples / total);
    }
}
