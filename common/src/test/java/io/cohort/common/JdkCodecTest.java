package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.TaskError;
import java.io.ObjectInputFilter;
import java.util.List;
import org.junit.jupiter.api.Test;

class JdkCodecTest {
    private final Codec codec = Codec.standard();
    private final ClassLoader loader = getClass().getClassLoader();

    @Test
    void roundTripsLambdasAndValues() throws Exception {
        int offset = 5;
        TaskBody body = x -> (Integer) x + offset;
        TaskBody back = (TaskBody) codec.decode(codec.encode(body), loader);
        assertEquals(12, back.call(7));
        assertEquals(List.of(1, 2), codec.decode(codec.encode(List.of(1, 2)), loader));
        assertArrayEquals(new byte[] {1, 2, 3}, (byte[]) codec.decode(codec.encode(new byte[] {1, 2, 3}), loader));
    }

    @Test
    void plainValuesRoundTripInAFewBytes() {
        for (Object v : new Object[] {null, 0L, -1L, Long.MAX_VALUE, 42, Integer.MIN_VALUE, 2.5, Double.NaN,
                true, false, "", "héllo ✓", Long.valueOf(7)}) {
            ByteString bytes = codec.encode(v);
            assertEquals(v, codec.decode(bytes, loader));
            assertTrue(bytes.size() <= 1 + Math.max(8, String.valueOf(v).length() * 3), v + ": " + bytes.size());
        }
        assertArrayEquals(new byte[0], (byte[]) codec.decode(codec.encode(new byte[0]), loader));
        byte[] big = new byte[1 << 20];
        big[big.length - 1] = 9;
        assertArrayEquals(big, (byte[]) codec.decode(codec.encode(big), loader));
        assertEquals(big.length + 1, codec.encode(big).size());
    }

    @Test
    void aTruncatedPlainValueIsAClearError() {
        ByteString longValue = codec.encode(123L);
        CodecException e = assertThrows(CodecException.class, () -> codec.decode(longValue.substring(0, 4), loader));
        assertTrue(e.getMessage().contains("needs 9 bytes"), e.getMessage());
    }

    @Test
    void encodingSomethingNotSerializableNamesTheClass() {
        Object notSerializable = new Object();
        CodecException e = assertThrows(CodecException.class, () -> codec.encode(List.of(notSerializable)));
        assertTrue(e.getMessage().contains("java.lang.Object"), e.getMessage());
    }

    @Test
    void filterRefusesListedClasses() {
        Codec strict = new JdkCodec(ObjectInputFilter.Config.createFilter("!java.util.ArrayList;*"));
        ByteString bytes = codec.encode(new java.util.ArrayList<>(List.of(1)));
        CodecException e = assertThrows(CodecException.class, () -> strict.decode(bytes, loader));
        assertEquals("java.util.ArrayList", e.className());
    }

    @Test
    void garbageIsAClearError() {
        assertThrows(CodecException.class, () -> codec.decode(ByteString.copyFromUtf8("not java"), loader));
    }

    @Test
    void describedErrorsCarryClassMessageFramesAndTheExceptionItself() {
        IllegalStateException boom = new IllegalStateException("boom");
        TaskError error = TaskErrors.describe(boom, "w1", codec);
        assertEquals("java.lang.IllegalStateException", error.getClassName());
        assertEquals("boom", error.getMessage());
        assertEquals("w1", error.getWorkerId());
        StackTraceElement[] frames = TaskErrors.frames(error);
        assertEquals(boom.getStackTrace().length, frames.length);
        assertEquals(boom.getStackTrace()[0].getClassName(), frames[0].getClassName());
        assertEquals(boom.getStackTrace()[0].getMethodName(), frames[0].getMethodName());
        assertEquals(boom.getStackTrace()[0].getLineNumber(), frames[0].getLineNumber());
        Object back = codec.decode(error.getSerialized(), loader);
        assertInstanceOf(IllegalStateException.class, back);
        assertEquals("boom", ((Throwable) back).getMessage());
    }
}
