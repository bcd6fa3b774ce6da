package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Map chunks travel as Object[]: plain ones packed, anything else through the object stream. */
class PlainArraysTest {
    private final Codec codec = Codec.standard();
    private final ClassLoader loader = getClass().getClassLoader();

    private Object[] roundTrip(Object[] values) {
        Object back = codec.decode(codec.encode(values), loader);
        assertInstanceOf(Object[].class, back);
        assertEquals(Object[].class, back.getClass());
        return (Object[]) back;
    }

    @Test
    void longsArePackedAtEightBytesEach() {
        Object[] values = {0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 42L};
        ByteString bytes = codec.encode(values);
        assertEquals(PlainArrays.LONGS, bytes.byteAt(0));
        assertEquals(5 + 8 * values.length, bytes.size());
        assertArrayEquals(values, roundTrip(values));
    }

    @Test
    void intsAndDoublesArePackedToo() {
        Object[] ints = {0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE};
        assertEquals(PlainArrays.INTS, codec.encode(ints).byteAt(0));
        assertArrayEquals(ints, roundTrip(ints));
        Object[] doubles = {0.0, -0.0, Double.NaN, Double.NEGATIVE_INFINITY, Double.MIN_VALUE, 2.5};
        assertEquals(PlainArrays.DOUBLES, codec.encode(doubles).byteAt(0));
        assertArrayEquals(doubles, roundTrip(doubles));   // -0.0 and NaN compare by bits
    }

    @Test
    void emptyArrays() {
        assertArrayEquals(new Object[0], roundTrip(new Object[0]));
        assertEquals(5, codec.encode(new Object[0]).size());
    }

    @Test
    void nullsAndMixedPlainKindsKeepEachElement() {
        Object[] values = {null, 1L, 2, 3.5, true, false, "", "héllo ✓ \uD83D\uDE00", new byte[0], new byte[] {1, 2},
                null, Long.MIN_VALUE};
        ByteString bytes = codec.encode(values);
        assertEquals(PlainArrays.MIXED, bytes.byteAt(0));
        Object[] back = roundTrip(values);
        assertEquals(values.length, back.length);
        for (int i = 0; i < values.length; i++) {
            if (values[i] instanceof byte[] b) {
                assertArrayEquals(b, (byte[]) back[i], "element " + i);
            } else {
                assertEquals(values[i], back[i], "element " + i);
            }
        }
        assertArrayEquals(new Object[] {null, null}, roundTrip(new Object[] {null, null}));
        assertArrayEquals(new Object[] {"a", "b"}, roundTrip(new Object[] {"a", "b"}));
        assertArrayEquals(new Object[] {1L, null}, roundTrip(new Object[] {1L, null}));
    }

    @Test
    void anythingElseGoesThroughTheObjectStream() {
        Object[] withList = {1L, List.of(2L)};
        assertEquals((byte) 0xAC, codec.encode(withList).byteAt(0));
        assertArrayEquals(withList, roundTrip(withList));
        Object[] nested = {new Object[] {1L}};
        Object[] back = roundTrip(nested);
        assertArrayEquals((Object[]) nested[0], (Object[]) back[0]);
        Long[] typed = {1L, 2L};   // another array class keeps its class
        assertEquals(Long[].class, codec.decode(codec.encode(typed), loader).getClass());
    }

    @Test
    void hugeArraysRoundTrip() {
        int n = 2_000_000;
        Object[] values = new Object[n];
        for (int i = 0; i < n; i++) {
            values[i] = (long) i * 31;
        }
        assertArrayEquals(values, roundTrip(values));
        Object[] strings = new Object[100_000];
        for (int i = 0; i < strings.length; i++) {
            strings[i] = i % 7 == 0 ? null : "s" + i;
        }
        assertArrayEquals(strings, roundTrip(strings));
    }

    @Test
    void aDecodedRopeOfSeveralPiecesReadsTheSame() {
        ByteString bytes = codec.encode(new Object[] {1L, 2L, 3L});
        ByteString rope = bytes.substring(0, 7).concat(bytes.substring(7));
        assertArrayEquals(new Object[] {1L, 2L, 3L}, (Object[]) codec.decode(rope, loader));
    }

    @Test
    void truncatedOrCorruptArraysAreClearErrors() {
        ByteString longs = codec.encode(new Object[] {1L, 2L});
        CodecException e = assertThrows(CodecException.class, () -> codec.decode(longs.substring(0, 12), loader));
        assertTrue(e.getMessage().contains("needs 21 bytes"), e.getMessage());
        ByteString mixed = codec.encode(new Object[] {"abc", null});
        assertThrows(CodecException.class, () -> codec.decode(mixed.substring(0, mixed.size() - 2), loader));
        assertThrows(CodecException.class, () -> codec.decode(mixed.concat(ByteString.copyFrom(new byte[] {1})), loader));
        assertThrows(CodecException.class, () -> codec.decode(ByteString.copyFrom(new byte[] {PlainArrays.LONGS, 0}), loader));
        // a count far beyond the bytes must not allocate for it
        ByteString lying = ByteString.copyFrom(new byte[] {PlainArrays.MIXED, 0x7f, 0, 0, 0, 1});
        assertThrows(CodecException.class, () -> codec.decode(lying, loader));
        ByteString badTag = ByteString.copyFrom(new byte[] {PlainArrays.MIXED, 0, 0, 0, 1, 99});
        assertThrows(CodecException.class, () -> codec.decode(badTag, loader));
    }
}
