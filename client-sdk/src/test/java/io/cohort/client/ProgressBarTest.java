package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** What the console bar writes: in place on a terminal, a line every few seconds elsewhere. */
class ProgressBarTest {
    private final AtomicLong now = new AtomicLong();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private static Progress at(long done, long failed, long total, double rate, Duration eta) {
        return new ProgressTracker.Snapshot(done, failed, total < 0 ? OptionalLong.empty() : OptionalLong.of(total),
                rate, Optional.ofNullable(eta), Duration.ofMillis(4_200));
    }

    private String written() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aLineSaysDoneFailedTotalRateAndEta() {
        assertEquals("[###############...............]  50% 500/1,000 done, 3 failed | 120.0/s | ETA 4.2 s | 4.2 s",
                ProgressBar.describe(at(500, 3, 1_000, 120, Duration.ofMillis(4_200))));
        assertEquals("1,234 done | 9.5/s | 4.2 s", ProgressBar.describe(at(1_234, 0, -1, 9.5, null)));
        assertEquals("[##############################] 100% 7/7 done | 0.0/s | 4.2 s",
                ProgressBar.describe(at(7, 0, 7, 0, Duration.ZERO)));
        assertTrue(ProgressBar.describe(at(0, 0, 0, 0, Duration.ZERO)).contains("100% 0/0 done"));
    }

    @Test
    void onATerminalTheLineIsRedrawnInPlaceAndEndsWithANewline() {
        ProgressBar bar = new ProgressBar(out, true, now::get);
        bar.update(at(1_000, 0, -1, 1, null));
        bar.update(at(10, 0, 100, 1, null));     // a longer line
        bar.update(at(2_000, 0, -1, 1, null));   // a shorter one pads over the rest
        bar.show(at(100, 1, 100, 1, Duration.ZERO));
        bar.update(at(100, 1, 100, 1, Duration.ZERO));
        String[] draws = written().split("\r", -1);
        assertEquals("", draws[0]);
        assertEquals(5, draws.length, "three updates and the last line: " + written());
        assertEquals(draws[2].length(), draws[3].length(), "padded to the longer line");
        assertTrue(draws[4].contains("100% 100/100 done, 1 failed") && draws[4].endsWith(System.lineSeparator()));
        assertEquals(1, written().split(System.lineSeparator(), -1).length - 1, "one newline, at the end");
    }

    @Test
    void elsewhereItWritesAPlainLineEveryFewSeconds() {
        ProgressBar bar = new ProgressBar(out, false, now::get);
        bar.update(at(1, 0, 100, 1, null));
        now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        bar.update(at(2, 0, 100, 1, null));   // too soon after the first
        now.addAndGet(ProgressBar.LINE_INTERVAL_NANOS);
        bar.update(at(3, 0, 100, 1, null));
        bar.finish(at(100, 0, 100, 1, Duration.ZERO));
        bar.finish(at(100, 0, 100, 1, Duration.ZERO));
        assertFalse(written().contains("\r"));
        String[] lines = written().split(System.lineSeparator());
        assertEquals(3, lines.length, written());
        assertTrue(lines[0].contains(" 1/100 ") && lines[1].contains(" 3/100 ") && lines[2].contains("100/100"));
    }
}
