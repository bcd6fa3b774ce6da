package io.cohort.client;

import java.io.Console;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A console progress bar, like Dask's {@code progress()}: on a terminal one line redrawn in
 * place ({@code \r}), elsewhere (a pipe, a log file) a plain line every few seconds, and in
 * both a last line when the work ends. Thread-safe: writes are serialized, and nothing is
 * written after the last line.
 */
final class ProgressBar {
    /** Between plain lines when the output is not a terminal. */
    static final long LINE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** Between redraws on a terminal (the reporter feeding the bar keeps to this too). */
    static final long REDRAW_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int WIDTH = 30;

    private final PrintStream out;
    private final boolean terminal;
    private final LongSupplier clock;
    // guarded by this
    private boolean drawn;
    private long lastNanos;
    private int lastLength;
    private boolean finished;

    ProgressBar(PrintStream out, boolean terminal, LongSupplier clock) {
        this.out = out;
        this.terminal = terminal;
        this.clock = clock;
    }

    /** On standard output, live if it is a terminal. */
    static ProgressBar onStdout() {
        return new ProgressBar(System.out, stdoutIsTerminal(), System::nanoTime);
    }

    /**
     * True when standard output is a terminal. Up to JDK 21 {@code System.console()} exists only
     * then; from JDK 22 it may exist anyway, and {@code Console.isTerminal()} (called
     * reflectively, as it is missing on 17) tells.
     */
    static boolean stdoutIsTerminal() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (NoSuchMethodException e) {
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }

    /** The work as it is now: redrawn on a terminal, a line if the last one is old enough otherwise. */
    synchronized void update(Progress p) {
        if (finished) {
            return;
        }
        long now = clock.getAsLong();
        if (!terminal && drawn && now - lastNanos < LINE_INTERVAL_NANOS) {
            return;
        }
        write(p, false);
        drawn = true;
        lastNanos = now;
    }

    /** {@link #finish} once every element is done, else {@link #update}. */
    void show(Progress p) {
        OptionalLong total = p.total();
        if (total.isPresent() && p.done() >= total.getAsLong()) {
            finish(p);
        } else {
            update(p);
        }
    }

    /** The last line; later calls (and updates) write nothing. */
    synchronized void finish(Progress p) {
        if (finished) {
            return;
        }
        finished = true;
        write(p, true);
    }

    private void write(Progress p, boolean last) {   // holds the lock
        String line = describe(p);
        if (terminal) {
            // pad over the rest of a longer previous line
            String pad = " ".repeat(Math.max(0, lastLength - line.length()));
            out.print("\r" + line + pad + (last ? System.lineSeparator() : ""));
            lastLength = line.length();
        } else {
            out.println(line);
        }
        out.flush();
    }

    /** One line: {@code [#####.....]  50% 500/1,000 done, 3 failed | 120.0/s | ETA 4 s | 4.2 s}. */
    static String describe(Progress p) {
        StringBuilder s = new StringBuilder();
        OptionalLong total = p.total();
        if (total.isPresent()) {
            long all = total.getAsLong();
            double fraction = all == 0 ? 1 : Math.min(1, (double) p.done() / all);
            int filled = (int) Math.round(fraction * WIDTH);
            s.append('[').append("#".repeat(filled)).append(".".repeat(WIDTH - filled)).append("] ")
                    .append(String.format(Locale.ROOT, "%3d%% %,d/%,d done", (int) Math.floor(fraction * 100),
                            p.done(), all));
        } else {
            s.append(String.format(Locale.ROOT, "%,d done", p.done()));
        }
        if (p.failed() > 0) {
            s.append(String.format(Locale.ROOT, ", %,d failed", p.failed()));
        }
        s.append(String.format(Locale.ROOT, " | %,.1f/s", p.ratePerSecond()));
        p.eta().filter(eta -> !eta.isZero()).ifPresent(eta -> s.append(" | ETA ").append(seconds(eta)));
        s.append(" | ").append(seconds(p.elapsed()));
        return s.toString();
    }

    private static String seconds(Duration d) {
        long s = d.getSeconds();
        if (s >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60);
        }
        if (s >= 60) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%.1f s", d.toNanos() / 1e9);
    }
}
