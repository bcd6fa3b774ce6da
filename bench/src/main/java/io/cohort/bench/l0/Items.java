package io.cohort.bench.l0;

import java.nio.ByteOrder;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * The items inside a {@link Frame}: each is {@code [long id][byte op][int length][length bytes]},
 * big-endian. {@link Writer} appends items, {@link Reader} walks them without copying.
 */
final class Items {
    /** x -> x + 1 on an 8-byte long: W1's and W3's task. */
    static final byte INCREMENT = 0;
    /** b -> b.clone(): W5's task. */
    static final byte COPY = 1;
    static final int HEADER = 8 + 1 + 4;

    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

    private Items() {
    }

    static long readLong(byte[] b, int at) {
        return (long) LONG.get(b, at);
    }

    /** Appends items into a growing array; {@link #take} hands the array over as a frame and starts afresh. */
    static final class Writer {
        private byte[] buf = new byte[0];
        private int size;
        private int count;

        int size() {
            return size;
        }

        int count() {
            return count;
        }

        void addLong(long id, byte op, long value) {
            int at = header(id, op, 8);
            LONG.set(buf, at, value);
        }

        void add(long id, byte op, byte[] src, int off, int len) {
            int at = header(id, op, len);
            System.arraycopy(src, off, buf, at, len);
        }

        /** Appends an item exactly as it sits in a frame read by {@code r}: header and payload. */
        void copyOf(Reader r) {
            add(r.id(), r.op(), r.bytes(), r.offset(), r.length());
        }

        private int header(long id, byte op, int len) {
            int need = size + HEADER + len;
            if (need > buf.length) {
                // an empty writer takes exactly what one item needs, so a 1 MiB item costs one array
                buf = Arrays.copyOf(buf, size == 0 ? Math.max(need, 256) : Math.max(need, buf.length * 2));
            }
            LONG.set(buf, size, id);
            buf[size + 8] = op;
            INT.set(buf, size + 9, len);
            int at = size + HEADER;
            size = need;
            count++;
            return at;
        }

        Frame take() {
            Frame f = new Frame(buf, size);
            buf = new byte[0];
            size = 0;
            count = 0;
            return f;
        }
    }

    /** Walks a frame's items: {@code while (r.next()) { r.id() ... }}. */
    static final class Reader {
        private final byte[] b;
        private final int end;
        private int pos;
        private long id;
        private byte op;
        private int offset;
        private int length;

        Reader(Frame f) {
            b = f.bytes();
            end = f.length();
        }

        boolean next() {
            if (pos >= end) {
                return false;
            }
            if (end - pos < HEADER) {
                throw new IllegalStateException("L0: a truncated item header at " + pos + " of " + end);
            }
            id = (long) LONG.get(b, pos);
            op = b[pos + 8];
            length = (int) INT.get(b, pos + 9);
            offset = pos + HEADER;
            if (length < 0 || length > end - offset) {
                throw new IllegalStateException("L0: an item of " + length + " bytes at " + pos + " of " + end);
            }
            pos = offset + length;
            return true;
        }

        /** True when an item follows the current one. */
        boolean hasNext() {
            return pos < end;
        }

        long id() {
            return id;
        }

        byte op() {
            return op;
        }

        byte[] bytes() {
            return b;
        }

        int offset() {
            return offset;
        }

        int length() {
            return length;
        }
    }
}
