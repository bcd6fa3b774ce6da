package io.cohort.common;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A compact encoding for the values tasks pass most (null, boxed numbers, booleans, strings,
 * byte arrays): a tag byte and the raw value, without an object stream around it. Tags never
 * equal 0xAC, the first byte of every JDK serialization stream, so the two encodings cannot be
 * confused. Arrays of these values are {@link PlainArrays}.
 */
final class PlainValues {
    static final byte NULL = 1;
    static final byte LONG = 2;
    static final byte INT = 3;
    static final byte DOUBLE = 4;
    static final byte STRING = 5;
    static final byte BYTES = 6;
    static final byte TRUE = 7;
    static final byte FALSE = 8;

    /** Marks "not a plain value": decode() returns it when the bytes are some other encoding. */
    static final Object NOT_PLAIN = new Object();

    private PlainValues() {}

    /** The compact form, or null when the value is not of a plain class. */
    static ByteString encode(Object value) {
        if (value == null) {
            return ByteString.copyFrom(new byte[] {NULL});
        }
        Class<?> c = value.getClass();
        if (c == Long.class) {
            return ByteString.copyFrom(ByteBuffer.allocate(9).put(LONG).putLong((Long) value).array());
        }
        if (c == Integer.class) {
            return ByteString.copyFrom(ByteBuffer.allocate(5).put(INT).putInt((Integer) value).array());
        }
        if (c == Double.class) {
            return ByteString.copyFrom(ByteBuffer.allocate(9).put(DOUBLE).putDouble((Double) value).array());
        }
        if (c == Boolean.class) {
            return ByteString.copyFrom(new byte[] {(Boolean) value ? TRUE : FALSE});
        }
        if (c == String.class) {
            return tagged(STRING, ((String) value).getBytes(StandardCharsets.UTF_8));
        }
        if (c == byte[].class) {
            return tagged(BYTES, (byte[]) value);
        }
        if (c == Object[].class) {
            return PlainArrays.encode((Object[]) value);
        }
        return null;
    }

    /** The tag and a copy of {@code bytes} in one new array (the only copy), wrapped without another. */
    private static ByteString tagged(byte tag, byte[] bytes) {
        byte[] out = new byte[bytes.length + 1];
        out[0] = tag;
        System.arraycopy(bytes, 0, out, 1, bytes.length);
        return UnsafeByteOperations.unsafeWrap(out);   // ours alone: nobody else holds out
    }

    /** The value, or {@link #NOT_PLAIN} when the bytes are not in the compact form. */
    static Object decode(ByteString bytes) {
        if (bytes.isEmpty()) {
            return NOT_PLAIN;
        }
        byte tag = bytes.byteAt(0);
        return switch (tag) {
            case NULL -> null;
            case LONG -> fixed(bytes, 9).getLong();
            case INT -> fixed(bytes, 5).getInt();
            case DOUBLE -> fixed(bytes, 9).getDouble();
            case TRUE -> Boolean.TRUE;
            case FALSE -> Boolean.FALSE;
            case STRING -> bytes.substring(1).toString(StandardCharsets.UTF_8);
            case BYTES -> bytes.substring(1).toByteArray();
            case PlainArrays.LONGS, PlainArrays.INTS, PlainArrays.DOUBLES, PlainArrays.MIXED -> PlainArrays.decode(bytes);
            default -> NOT_PLAIN;
        };
    }

    /**
     * The value's bytes after its tag, for relative reads only: a slice of a larger message
     * (a large message parses with its fields aliasing its buffer) gives a buffer whose
     * absolute index 0 is the start of that whole buffer, not of the value.
     */
    private static ByteBuffer fixed(ByteString bytes, int size) {
        if (bytes.size() != size) {
            throw new CodecException("cannot decode: a plain value of tag " + bytes.byteAt(0) + " needs "
                    + size + " bytes, got " + bytes.size(), null, null);
        }
        ByteBuffer in = bytes.asReadOnlyByteBuffer();
        in.get();
        return in;
    }
}
