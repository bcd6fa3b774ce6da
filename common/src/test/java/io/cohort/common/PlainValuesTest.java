package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.TaskResult;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Plain values decode the same wherever their bytes sit, including inside a larger buffer. */
class PlainValuesTest {
    private final Codec codec = Codec.standard();
    private final ClassLoader loader = getClass().getClassLoader();

    private static final List<Object> VALUES = List.of(0, -1, 123_456_789, Integer.MIN_VALUE, 7L, Long.MAX_VALUE,
            -2.5, Double.MAX_VALUE, true, false, "héllo", new byte[] {1, 2, 3}, new Object[] {1, 2L, "x"});

    /** The value's bytes as a slice at {@code offset} of a larger array, as an aliasing parse leaves them. */
    private static ByteString sliceOf(ByteString value, int offset) {
        byte[] whole = new byte[offset + value.size() + 16];
        Arrays.fill(whole, (byte) 0x5A);
        value.copyTo(whole, offset);
        return ByteString.copyFrom(whole).substring(offset, offset + value.size());
    }

    private static void assertDecodesTo(Object expected, Object actual) {
        if (expected instanceof byte[] b) {
            assertArrayEquals(b, (byte[]) actual);
        } else if (expected instanceof Object[] a) {
            assertArrayEquals(a, (Object[]) actual);
        } else {
            assertEquals(expected, actual);
        }
    }

    @Test
    void aValueInsideALargerBufferDecodesToItself() {
        for (Object value : VALUES) {
            ByteString bytes = codec.encode(value);
            for (int offset : new int[] {0, 1, 5, 1000}) {
                assertDecodesTo(value, codec.decode(sliceOf(bytes, offset), loader));
            }
        }
    }

    /**
     * A client handed many results at once (say, those held for it while it reconnected) gets
     * one message over the aliasing threshold: every value must still be its own.
     */
    @Test
    void everyResultOfALargeMessageDecodesToItsOwnValue() throws Exception {
        MethodDescriptor.Marshaller<SessionResponse> marshaller =
                AliasingParse.marshaller(ProtoUtils.marshaller(SessionResponse.getDefaultInstance()));
        SessionResponse.Builder sent = SessionResponse.newBuilder();
        int count = 10_000;
        for (int i = 0; i < count; i++) {
            sent.addResults(TaskResult.newBuilder().setTaskId(i).setValue(codec.encode(2 * i + 1)));
        }
        byte[] wire = sent.build().toByteArray();
        assertTrue(wire.length >= AliasingParse.ALIAS_FROM_BYTES, "the message takes the aliasing path");
        SessionResponse received = marshaller.parse(new AliasingParseTest.KnownLengthStream(wire));
        assertEquals(count, received.getResultsCount());
        for (TaskResult r : received.getResultsList()) {
            assertEquals((int) (2 * r.getTaskId() + 1), codec.decode(r.getValue(), loader), "task " + r.getTaskId());
        }
    }
}
