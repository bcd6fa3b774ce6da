package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How map sizes its units when the user gave no chunk size. */
class ChunkSizerTest {
    private static final long FAST = 1_000_000L;   // 1 ms

    private static ChunkSizer sizer(int slots, long length) {
        return new ChunkSizer(slots, length, ChunkSizer.defaultBuffer(slots));
    }

    @Test
    void aKnownLengthStartsAtAQuarterPerSlotLikePython() {
        assertEquals(25_000, sizer(2, 200_000).next());
        assertEquals(1, sizer(2, 5).next());
        assertEquals(ChunkSizer.MAX, sizer(2, 100_000_000).next());
    }

    @Test
    void anUnknownLengthStartsAtOneAndGrowsWhileUnitsComeBackFast() {
        ChunkSizer s = sizer(2, -1);
        assertEquals(1, s.next());
        int previous = 0;
        for (int i = 0; i < 30; i++) {
            int n = s.next();
            assertTrue(n >= previous, "never shrinks on fast units");
            previous = n;
            s.sent(n, 9L * n);
            s.completed(n, FAST);
        }
        assertEquals(ChunkSizer.MAX, s.next());
    }

    @Test
    void slowUnitsShrinkToAboutTheTargetLatency() {
        ChunkSizer s = sizer(2, 1_000_000);
        int n = s.next();
        s.sent(n, 9L * n);
        s.completed(n, 10_000_000_000L);   // 10 s for the unit: shrink
        int shrunk = s.next();
        long target = (ChunkSizer.GROW_BELOW_NANOS + ChunkSizer.SHRINK_ABOVE_NANOS) / 2;
        assertEquals(Math.max(1, n * target / 10_000_000_000L), shrunk);
        s.completed(1, 5_000_000_000L);    // one input takes 5 s: one at a time
        assertEquals(1, s.next());
        s.completed(1, 100_000_000L);      // in between: kept
        assertEquals(1, s.next());
    }

    @Test
    void unitsGetSmallerTowardsTheEndSoSlotsFinishTogether() {
        ChunkSizer s = sizer(2, 100_000);
        assertEquals(12_500, s.next());
        List<Integer> sizes = new ArrayList<>();
        int sent = 0;
        while (sent < 100_000) {
            int n = Math.min(s.next(), 100_000 - sent);
            sizes.add(n);
            s.sent(n, 9L * n);
            sent += n;
        }
        for (int i = 1; i < sizes.size(); i++) {
            assertTrue(sizes.get(i) <= sizes.get(i - 1), "sizes never grow with nothing completed: " + sizes);
        }
        // an even share per slot at the end, but never below a sixteenth of the steered size
        assertEquals(List.of(12_500, 12_500, 12_500, 12_500, 12_500, 12_500, 12_500, 6_250, 3_125, 1_563, 781, 781),
                sizes);
    }

    @Test
    void aSmallBufferBoundsTheUnits() {
        ChunkSizer s = new ChunkSizer(2, 1_000_000, 40);
        assertEquals(10, s.next());   // half the buffer per slot: two units each fit
        ChunkSizer tiny = new ChunkSizer(4, -1, 1);
        assertEquals(1, tiny.next());
    }

    @Test
    void bigInputsBoundTheUnitsByBytes() {
        ChunkSizer s = sizer(2, -1);
        for (int i = 0; i < 20; i++) {
            int n = s.next();
            s.sent(n, 100_000L * n);   // 100 KB an input
            s.completed(n, FAST);
        }
        assertEquals(ChunkSizer.MAX_BYTES / 100_000, s.next());
    }
}
