package io.cohort.bench.l0;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The relay's item format: what is written is read back, and a frame that lies about a length is refused. */
class ItemsTest {
    @Test
    void itemsOfEverySizeReadBackAsWritten() {
        byte[] big = new byte[1 << 20];
        Arrays.fill(big, (byte) 7);
        Items.Writer w = new Items.Writer();
        w.addLong(1, Items.INCREMENT, 41);
        w.add(2, Items.COPY, new byte[0], 0, 0);
        w.add(3, Items.COPY, big, 0, big.length);
        assertEquals(3, w.count());
        Frame f = w.take();
        assertEquals(0, w.count(), "take() starts afresh");

        Items.Reader r = new Items.Reader(f);
        assertTrue(r.next());
        assertEquals(1, r.id());
        assertEquals(41, Items.readLong(r.bytes(), r.offset()));
        assertTrue(r.next());
        assertEquals(2, r.id());
        assertEquals(0, r.length());
        assertTrue(r.next());
        assertEquals(3, r.id());
        assertArrayEquals(big, Arrays.copyOfRange(r.bytes(), r.offset(), r.offset() + r.length()));
        assertFalse(r.next());
    }

    @Test
    void aLengthBeyondTheFrameOrATruncatedHeaderIsRefused() {
        Items.Writer w = new Items.Writer();
        w.addLong(1, Items.INCREMENT, 41);
        Frame f = w.take();
        Items.Reader cut = new Items.Reader(new Frame(f.bytes(), f.length() - 1));
        assertThrows(IllegalStateException.class, cut::next);
        Items.Reader header = new Items.Reader(new Frame(f.bytes(), Items.HEADER - 1));
        assertThrows(IllegalStateException.class, header::next);
    }
}
