package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Counts, rate over the last seconds, ETA and the end, on a clock moved by hand. */
class ProgressTrackerTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final AtomicInteger changes = new AtomicInteger();
    private final AtomicInteger ends = new AtomicInteger();
    private final ProgressTracker.Listener listener = new ProgressTracker.Listener() {
        @Override
        public void changed() {
            changes.incrementAndGet();
        }

        @Override
        public void ended() {
            ends.incrementAndGet();
        }
    };

    private void advance(long millis) {
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
    }

    @Test
    void countsRateAndEtaOverTheLastSeconds() {
        ProgressTracker p = new ProgressTracker(now::get, 1_000, listener);
        assertEquals(0, p.done());
        assertEquals(OptionalLong.of(1_000), p.total());
        assertEquals(Optional.empty(), p.eta(), "no rate yet");
        for (int i = 0; i < 100; i++) {   // 10 s at 50 per second, 2 of them failed each second
            advance(100);
            p.record(5, i % 5 == 0 ? 1 : 0);
        }
        assertEquals(500, p.done());
        assertEquals(20, p.failed());
        assertEquals(50.0, p.ratePerSecond(), 2.0);
        assertEquals(10.0, p.eta().orElseThrow().toMillis() / 1000.0, 0.5, "500 left at 50/s");
        assertEquals(Duration.ofSeconds(10), p.elapsed());
        assertEquals(100, changes.get());

        advance(1_000);
        p.record(400, 0);   // a burst: the rate follows within the window
        assertTrue(p.ratePerSecond() > 80, "rate " + p.ratePerSecond());
        advance(6_000);     // nothing for longer than the window
        assertEquals(0.0, p.ratePerSecond());
        assertEquals(Optional.empty(), p.eta(), "no ETA without a rate");
        assertEquals(0, ends.get());
    }

    @Test
    void endsOnceWhenTheTotalIsReachedAndFreezes() {
        ProgressTracker p = new ProgressTracker(now::get, 10, listener);
        advance(500);
        p.record(6, 1);
        advance(500);
        p.record(4, 0);
        assertTrue(p.ended());
        assertEquals(1, ends.get());
        assertEquals(Optional.of(Duration.ZERO), p.eta());
        advance(60_000);
        p.record(5, 5);   // after the end: ignored
        p.end();
        assertEquals(10, p.done());
        assertEquals(1, p.failed());
        assertEquals(Duration.ofSeconds(1), p.elapsed(), "time stops at the end");
        assertEquals(10.0, p.ratePerSecond(), 0.01, "the rate as it was at the end");
        assertEquals(1, ends.get());
    }

    @Test
    void anUnknownTotalBecomesKnownWhenTheInputsRunOut() {
        ProgressTracker p = new ProgressTracker(now::get, -1, listener);
        advance(100);
        p.record(7, 0);
        assertEquals(OptionalLong.empty(), p.total());
        assertEquals(Optional.empty(), p.eta());
        assertFalse(p.ended());
        p.total(9);
        assertEquals(OptionalLong.of(9), p.total());
        assertFalse(p.ended());
        p.record(2, 0);
        assertTrue(p.ended());
        assertEquals(1, ends.get());
    }

    @Test
    void closingEndsItWhereItIs() {
        ProgressTracker p = new ProgressTracker(now::get, -1, listener);
        p.record(3, 1);
        p.end();
        p.end();
        p.record(3, 1);
        assertEquals(3, p.done());
        assertEquals(1, ends.get());
        assertTrue(p.toString().startsWith("3 done, 1 failed"), p.toString());
    }
}
