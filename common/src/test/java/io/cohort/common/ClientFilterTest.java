package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import example.app.AppException;
import example.app.Pojo;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A client decodes plain values, the JDK's collections of them, records, enums and
 * {@code java.base} exceptions unasked; other classes only when its pattern names them; and
 * no array longer than its stream could fill.
 */
class ClientFilterTest {
    private final ClassLoader loader = getClass().getClassLoader();
    private final Codec client = Codec.filtered(DeserializationFilter.client(null));

    enum Colour { RED, GREEN { @Override public String toString() { return "g"; } } }

    record Point(int x, int y, List<String> tags) implements Serializable {}

    private Object roundTrip(Codec codec, Object value) {
        return codec.decode(Codec.standard().encode(value), loader);
    }

    @Test
    void whatTasksCommonlyReturnIsDecoded() {
        TreeMap<String, Integer> sorted = new TreeMap<>(Comparator.reverseOrder());
        sorted.put("a", 1);
        TreeSet<String> caseless = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
        caseless.add("B");
        PriorityQueue<Long> queue = new PriorityQueue<>(List.of(3L, 1L, 2L));
        BitSet bits = new BitSet();
        bits.set(5);
        List<Object> values = List.of(
                List.of(1L, "two", 3.0), Map.of("k", List.of(1, 2)), Set.of("s"),
                new ArrayList<>(List.of(1, 2)), new LinkedList<>(List.of("l")), new ArrayDeque<>(List.of('c')),
                new HashMap<>(Map.of(1, "one")), new LinkedHashMap<>(Map.of("x", 1.5f)), new HashSet<>(Set.of((short) 4)),
                sorted, caseless, EnumSet.of(Colour.RED, Colour.GREEN), new EnumMap<>(Map.of(Colour.RED, 1)),
                new ConcurrentHashMap<>(Map.of("c", 2L)), new CopyOnWriteArrayList<>(List.of(7)),
                new LinkedBlockingQueue<>(List.of("q")), new AtomicLong(9).get(), Collections.unmodifiableList(new ArrayList<>(List.of(1))),
                Collections.singletonMap("one", 1), Collections.emptyList(), Arrays.asList(1, 2),
                new AbstractMap.SimpleEntry<>("e", 1), new BigInteger("123456789012345678901234567890"),
                new BigDecimal("1.50"), LocalDate.of(2026, 12, 7), Instant.ofEpochSecond(7), Duration.ofMillis(5),
                ZonedDateTime.of(2026, 1, 2, 3, 4, 5, 6, ZoneId.of("Europe/Paris")), UUID.nameUUIDFromBytes(new byte[] {1}),
                new Point(1, 2, List.of("p")), Colour.GREEN, (byte) 1, 'c', true);
        for (Object v : values) {
            Object back = roundTrip(client, v);
            assertEquals(v.getClass(), back.getClass());
            assertEquals(v instanceof java.util.Queue<?> q ? List.copyOf(q) : v,
                    back instanceof java.util.Queue<?> q ? List.copyOf(q) : back, v.getClass().getName());
        }
        assertEquals(List.of(1L, 2L, 3L), new ArrayList<>((PriorityQueue<?>) roundTrip(client, queue)).stream().sorted().toList());
        assertEquals(bits, roundTrip(client, bits));
        assertEquals(new AtomicLong(9).get(), ((AtomicLong) roundTrip(client, new AtomicLong(9))).get());
        assertArrayEquals(new int[][] {{1, 2}, {3}}, (int[][]) roundTrip(client, new int[][] {{1, 2}, {3}}));
        assertArrayEquals(new Point[] {new Point(0, 0, List.of())}, (Point[]) roundTrip(client, new Point[] {new Point(0, 0, List.of())}));
        assertArrayEquals(new Object[] {1L, new Point(3, 4, List.of()), List.of()},
                (Object[]) roundTrip(client, new Object[] {1L, new Point(3, 4, List.of()), List.of()}));
    }

    @Test
    void javaBaseExceptionsAreDecodedWithTheirCausesAndSuppressed() {
        IllegalStateException e = new IllegalStateException("outer", new UncheckedIOException(new IOException("io")));
        e.addSuppressed(new ArithmeticException("sup"));
        IllegalStateException back = (IllegalStateException) roundTrip(client, e);
        assertEquals("outer", back.getMessage());
        assertInstanceOf(IOException.class, back.getCause().getCause());
        assertEquals("sup", back.getSuppressed()[0].getMessage());
        assertArrayEquals(e.getStackTrace(), back.getStackTrace());
    }

    @Test
    void anApplicationClassIsRefusedNamingTheSettingUnlessThePatternNamesIt() {
        CodecException e = assertThrows(CodecException.class, () -> roundTrip(client, new Pojo()));
        assertEquals(Pojo.class.getName(), e.className());
        assertTrue(e.getMessage().contains("client's deserialization filter") && e.getMessage().contains("\"example.app.*\"")
                && e.getMessage().contains(DeserializationFilter.CLIENT_SETTING), e.getMessage());
        // inside an admitted collection too
        assertEquals(Pojo.class.getName(), assertThrows(CodecException.class,
                () -> roundTrip(client, new ArrayList<>(List.of(new Pojo())))).className());
        // an exception of the application's is refused the same way (the SDK then describes it)
        assertEquals(AppException.class.getName(), assertThrows(CodecException.class,
                () -> roundTrip(client, new AppException("mine"))).className());

        Codec named = Codec.filtered(DeserializationFilter.client(Pojo.class.getName() + ";" + AppException.class.getName()));
        assertEquals(3, ((Pojo) roundTrip(named, new Pojo())).value);
        assertEquals("mine", ((AppException) roundTrip(named, new AppException("mine"))).getMessage());
        // a pattern refuses more, and still admits no gadget
        Codec narrower = Codec.filtered(DeserializationFilter.client("!java.util.HashMap"));
        assertEquals("java.util.HashMap", assertThrows(CodecException.class,
                () -> roundTrip(narrower, new HashMap<>(Map.of(1, 1)))).className());
        Codec wide = Codec.filtered(DeserializationFilter.client("*"));
        assertEquals("javax.management.BadAttributeValueExpException", assertThrows(CodecException.class,
                () -> roundTrip(wide, new javax.management.BadAttributeValueExpException("x"))).className());
    }

    @Test
    void otherJdkClassesAreNotOnTheList() {
        for (Object v : new Object[] {new java.text.SimpleDateFormat("yyyy"), new java.io.File("f"),
                new java.util.Random(1)}) {
            CodecException e = assertThrows(CodecException.class, () -> roundTrip(client, v), v.getClass().getName());
            assertEquals(v.getClass().getName(), e.className());
        }
    }

    @Test
    void workersStillAdmitWhatTheirPatternDoesNotMention() {
        assertEquals(3, ((Pojo) roundTrip(Codec.standard(), new Pojo())).value);
    }

    /** The stream of {@code value} with the 4-byte big-endian int {@code from} (its first occurrence after the header) set to {@code to}. */
    private static ByteString patched(Object value, int from, int to) {
        byte[] b = Codec.standard().encode(value).toByteArray();
        for (int i = 4; i + 4 <= b.length; i++) {
            if (java.nio.ByteBuffer.wrap(b, i, 4).getInt() == from) {
                java.nio.ByteBuffer.wrap(b, i, 4).putInt(to);
                return ByteString.copyFrom(b);
            }
        }
        throw new AssertionError("no " + from + " in the stream");
    }

    @Test
    void anArrayLongerThanItsStreamCouldFillIsRefusedBeforeItIsAllocated() {
        ByteString longs = patched(new long[] {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}, 11, Integer.MAX_VALUE - 16);
        for (Codec codec : List.of(client, Codec.standard())) {
            CodecException e = assertThrows(CodecException.class, () -> codec.decode(longs, loader));
            assertTrue(e.getMessage().startsWith("an array of " + (Integer.MAX_VALUE - 16) + " elements declared in a "
                    + "stream of " + longs.size() + " bytes"), e.getMessage());
        }
        // a collection's declared size is checked as the array it allocates for it
        ByteString list = patched(new ArrayList<>(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L)), 13,
                400_000_000);
        CodecException e = assertThrows(CodecException.class, () -> client.decode(list, loader));
        assertTrue(e.getMessage().startsWith("an array of 400000000 elements declared"), e.getMessage());
    }
}
