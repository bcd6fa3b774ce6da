package io.cohort.bench.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.common.Codec;
import io.cohort.common.CodecException;
import io.cohort.common.TaskBody;
import io.cohort.common.TaskErrors;
import com.google.protobuf.ByteString;
import io.cohort.proto.v1.TaskError;
import java.io.Serializable;
import java.util.List;
import org.junit.jupiter.api.Test;

/** JdkCodecTest's cases on {@link ForyCodec}, plus what the bench asks of a codec. */
class ForyCodecTest {
    private final Codec codec = ForyCodec.standard();
    private final ClassLoader loader = getClass().getClassLoader();

    record Point(int x, String label) implements Serializable {
    }

    @Test
    void roundTripsLambdasAndValues() throws Exception {
        int offset = 5;
        TaskBody body = x -> (Integer) x + offset;
        TaskBody back = (TaskBody) codec.decode(codec.encode(body), loader);
        assertEquals(12, back.call(7));
        assertEquals(List.of(1, 2), codec.decode(codec.encode(List.of(1, 2)), loader));
        assertArrayEquals(new byte[] {1, 2, 3}, (byte[]) codec.decode(codec.encode(new byte[] {1, 2, 3}), loader));
        assertEquals(41L, codec.decode(codec.encode(41L), loader));
    }

    @Test
    void roundTripsRecords() {
        assertEquals(new Point(3, "p"), codec.decode(codec.encode(new Point(3, "p")), loader));
    }

    @Test
    void encodingSomethingNotSerializableNamesTheClass() {
        Object notSerializable = new Object();
        CodecException e = assertThrows(CodecException.class, () -> codec.encode(List.of(notSerializable)));
        assertTrue(e.getMessage().contains("java.lang.Object"), e.getMessage());
    }

    @Test
    void filterRefusesListedClasses() {
        Codec strict = new ForyCodec(List.of(Point.class.getName()));
        ByteString bytes = codec.encode(List.of(new Point(1, "a")));
        CodecException e = assertThrows(CodecException.class, () -> strict.decode(bytes, loader));
        assertEquals(Point.class.getName(), e.className());
    }

    @Test
    void refusesWhatJdkCodecsFilterRefuses() {
        ForyCodec standard = ForyCodec.standard();
        assertTrue(standard.isRefused("org.apache.commons.collections.functors.InvokerTransformer"));
        assertTrue(standard.isRefused("javax.management.BadAttributeValueExpException"));
        assertTrue(standard.isRefused("com.sun.rowset.JdbcRowSetImpl"));
        assertTrue(standard.isRefused("java.rmi.server.UnicastRemoteObject"));
        assertFalse(standard.isRefused("sun.rmi.server.UnicastRef"));   // "sun.rmi.*" is that package only, as in JdkCodec
        assertFalse(standard.isRefused("org.apache.commons.collections.functors2.Fine"));
        assertFalse(standard.isRefused("java.lang.Long"));
        assertFalse(standard.isRefused(Point.class.getName()));
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
        Object back = codec.decode(error.getSerialized(), loader);
        assertInstanceOf(IllegalStateException.class, back);
        assertEquals("boom", ((Throwable) back).getMessage());
        assertEquals(boom.getStackTrace().length, ((Throwable) back).getStackTrace().length);
    }
}
