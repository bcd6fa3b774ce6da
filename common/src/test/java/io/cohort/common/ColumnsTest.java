package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.ResultColumns;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.TaskResult;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Column batches: blobs built without copying large values, offsets checked, values sliced back out. */
class ColumnsTest {
    private final Codec codec = Codec.standard();
    private final ClassLoader loader = getClass().getClassLoader();

    @Test
    void aBlobHoldsEveryValueAtItsOffsetsWhateverItsSize() {
        Random random = new Random(11);
        List<ByteString> values = new ArrayList<>();
        for (int size : new int[] {0, 1, 2, 15, 16, 4095, 4096, 4097, Columns.Blob.LINK_FROM - 1, Columns.Blob.LINK_FROM,
                300_000, 1, 0, 70_000, 3}) {
            byte[] b = new byte[size];
            random.nextBytes(b);
            values.add(ByteString.copyFrom(b));
        }
        values.add(null);
        Columns.Blob blob = new Columns.Blob();
        List<Integer> ends = new ArrayList<>();
        List<Integer> flags = new ArrayList<>();
        for (ByteString v : values) {
            ends.add(blob.append(v));
            flags.add(Columns.flags(v, false));
        }
        ByteString built = blob.build();
        assertEquals(blob.size(), built.size());
        assertNull(Columns.checkEnds("ends", ends, values.size(), built.size()));
        for (int i = 0; i < values.size(); i++) {
            assertEquals(values.get(i), Columns.slice(built, ends, flags, i), "value " + i);
        }
    }

    @Test
    void aLargeValueIsLinkedNotCopied() {
        ByteString large = ByteString.copyFrom(new byte[Columns.Blob.LINK_FROM]);
        Columns.Blob blob = new Columns.Blob();
        blob.append(large);
        assertSame(large, blob.build(), "a blob of one large value is that value");
    }

    @Test
    void endsThatLieAreNamed() {
        assertNull(Columns.checkEnds("e", List.of(0, 0, 3), 3, 3));
        assertEquals("e has 2 entries for 3 tasks", Columns.checkEnds("e", List.of(1, 2), 3, 3));
        assertTrue(Columns.checkEnds("e", List.of(2, 1), 2, 3).startsWith("e[1] = 1 lies"));
        assertTrue(Columns.checkEnds("e", List.of(4), 1, 3).startsWith("e[0] = 4 lies"));
        // Offsets are unsigned 32-bit on the wire: those at and past 2^31 must not pass as negative ints.
        assertTrue(Columns.checkEnds("e", List.of(Integer.MIN_VALUE), 1, Integer.MAX_VALUE).startsWith("e[0] = 2147483648 lies"));
        assertTrue(Columns.checkEnds("e", List.of(-1), 1, Integer.MAX_VALUE).startsWith("e[0] = 4294967295 lies"));
        assertNull(Columns.checkEnds("e", List.of(Integer.MAX_VALUE), 1, Integer.MAX_VALUE), "2^31 - 1 is a valid end");
        assertEquals("i[1] = 2 names none of the 2 entries of its table", Columns.checkIndexes("i", List.of(1, 2), 2));
        assertEquals("i[0] = 4294967295 names none of the 2 entries of its table", Columns.checkIndexes("i", List.of(-1), 2));
    }

    @Test
    void aBlobPastTwoGibibytesIsRefusedBeforeAnyOffsetWraps() {
        Columns.Blob blob = new Columns.Blob();
        // A rope made of one 64 MiB array, 32 times: 2 GiB without allocating it.
        ByteString piece = ByteString.copyFrom(new byte[64 << 20]);
        for (int i = 0; i < 31; i++) {
            blob.append(piece);
        }
        assertEquals(31L * (64 << 20), blob.size());
        assertThrows(IllegalStateException.class, () -> blob.append(piece));
        assertEquals(31L * (64 << 20), blob.size(), "nothing was added");
    }

    /**
     * A client handed many results at once gets a message over the aliasing threshold: each value
     * is then a slice of the one buffer, and must still decode to itself (the bug of 06c059e).
     */
    @Test
    void everyValueOfALargeColumnBatchDecodesToItsOwnValue() {
        MethodDescriptor.Marshaller<SessionResponse> marshaller =
                AliasingParse.marshaller(ProtoUtils.marshaller(SessionResponse.getDefaultInstance()));
        ResultColumns.Builder columns = ResultColumns.newBuilder().addWorkers("w-1");
        Columns.Blob blob = new Columns.Blob();
        int count = 10_000;
        for (int i = 0; i < count; i++) {
            Object value = i % 3 == 0 ? (Object) (2L * i + 1) : i % 3 == 1 ? (Object) (2 * i + 1) : (Object) (2.0 * i + 1);
            ByteString bytes = codec.encode(value);
            columns.addTaskIds(i).addWorker(0).addValueEnds(blob.append(bytes)).addFlags(Columns.PRESENT);
        }
        byte[] wire = SessionResponse.newBuilder().setResultColumns(columns.setValues(blob.build())).build().toByteArray();
        assertTrue(wire.length >= AliasingParse.ALIAS_FROM_BYTES, "the message takes the aliasing path");
        List<TaskResult> results = ColumnBatches.results(marshaller.parse(new AliasingParseTest.KnownLengthStream(wire)));
        assertEquals(count, results.size());
        for (TaskResult r : results) {
            long i = r.getTaskId();
            Object expected = i % 3 == 0 ? (Object) (2L * i + 1) : i % 3 == 1 ? (Object) (int) (2 * i + 1) : (Object) (2.0 * i + 1);
            assertEquals(expected, codec.decode(r.getValue(), loader), "task " + i);
            assertEquals("w-1", r.getWorkerId());
        }
    }
}
