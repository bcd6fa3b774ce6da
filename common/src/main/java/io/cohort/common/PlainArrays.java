package io.cohort.common;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A compact encoding for an {@code Object[]} whose elements are all plain values (see
 * {@link PlainValues}): what a map chunk carries. An array of one boxed kind (all {@code Long},
 * all {@code Integer} or all {@code Double}, no nulls) is packed as raw numbers; any other mix
 * of plain values (nulls, booleans, strings, byte arrays, numbers of several kinds) is a tag
 * and a payload per element. Anything else, or another array class, is left to the object
 * stream. JDK serialization of 10,000 boxed longs costs about a millisecond each way and
 * ~100 KB; this costs a copy of 80 KB.
 *
 * <p>Layout, big-endian: tag, element count (int), then the elements. Decoding always yields
 * an {@code Object[]} of fresh boxes (identity between elements is not kept, as it is not for
 * single plain values).
 */
final class PlainArrays {
    static final byte LONGS = 9;
    static final byte INTS = 10;
    static final byte DOUBLES = 11;
    static final byte MIXED = 12;

    private static final int HEADER = 5;
    /** Below the largest Java array, so a size computed in long always fits. */
    private static final long MAX_BYTES = Integer.MAX_VALUE - 64;

    private PlainArrays() {}

    /** The compact form of {@code values}, or null when some element is not a plain value. */
    static ByteString encode(Object[] values) {
        Class<?> kind = values.length == 0 ? null : values[0] == null ? Void.class : values[0].getClass();
        boolean oneKind = kind == Long.class || kind == Integer.class || kind == Double.class;
        for (Object v : values) {
            Class<?> c = v == null ? Void.class : v.getClass();
            if (!plain(c)) {
                return null;
            }
            if (c != kind) {
                oneKind = false;
            }
        }
        if (oneKind) {
            return packed(values, kind);
        }
        return mixed(values);
    }

    private static boolean plain(Class<?> c) {
        return c == Void.class || c == Long.class || c == Integer.class || c == Double.class
                || c == Boolean.class || c == String.class || c == byte[].class;
    }

    private static ByteString packed(Object[] values, Class<?> kind) {
        int width = kind == Integer.class ? 4 : 8;
        long size = HEADER + (long) width * values.length;
        if (size > MAX_BYTES) {
            return null;
        }
        ByteBuffer out = ByteBuffer.allocate((int) size);
        if (kind == Long.class) {
            out.put(LONGS).putInt(values.length);
            for (Object v : values) {
                out.putLong((Long) v);
            }
        } else if (kind == Integer.class) {
            out.put(INTS).putInt(values.length);
            for (Object v : values) {
                out.putInt((Integer) v);
            }
        } else {
            out.put(DOUBLES).putInt(values.length);
            for (Object v : values) {
                out.putLong(Double.doubleToRawLongBits((Double) v));
            }
        }
        // the buffer is ours alone and never written again
        return UnsafeByteOperations.unsafeWrap(out.array());
    }

    private static ByteString mixed(Object[] values) {
        // strings take at most 3 bytes a char in UTF-8; encode them once, here
        byte[][] utf8 = null;
        long size = HEADER;
        for (int i = 0; i < values.length; i++) {
            Object v = values[i];
            size += 1;
            if (v instanceof Long || v instanceof Double) {
                size += 8;
            } else if (v instanceof Integer) {
                size += 4;
            } else if (v instanceof String s) {
                if (utf8 == null) {
                    utf8 = new byte[values.length][];
                }
                utf8[i] = s.getBytes(StandardCharsets.UTF_8);
                size += 4 + utf8[i].length;
            } else if (v instanceof byte[] b) {
                size += 4 + b.length;
            }
            if (size > MAX_BYTES) {
                return null;
            }
        }
        ByteBuffer out = ByteBuffer.allocate((int) size);
        out.put(MIXED).putInt(values.length);
        for (int i = 0; i < values.length; i++) {
            Object v = values[i];
            if (v == null) {
                out.put(PlainValues.NULL);
            } else if (v instanceof Long l) {
                out.put(PlainValues.LONG).putLong(l);
            } else if (v instanceof Integer n) {
                out.put(PlainValues.INT).putInt(n);
            } else if (v instanceof Double d) {
                out.put(PlainValues.DOUBLE).putLong(Double.doubleToRawLongBits(d));
            } else if (v instanceof Boolean b) {
                out.put(b ? PlainValues.TRUE : PlainValues.FALSE);
            } else if (v instanceof String) {
                out.put(PlainValues.STRING).putInt(utf8[i].length).put(utf8[i]);
            } else {
                byte[] b = (byte[]) v;
                out.put(PlainValues.BYTES).putInt(b.length).put(b);
            }
        }
        return UnsafeByteOperations.unsafeWrap(out.array());
    }

    /** Decodes the bytes of {@link #encode}; the first byte is one of this class's tags. */
    static Object[] decode(ByteString bytes) {
        ByteBuffer in = bytes.asReadOnlyByteBuffer();
        byte tag = in.get();
        if (in.remaining() < 4) {
            throw truncated(tag, bytes.size());
        }
        int n = in.getInt();
        if (n < 0) {
            throw new CodecException("cannot decode: a plain array of " + n + " elements", null, null);
        }
        Object[] out;
        switch (tag) {
            case LONGS -> {
                exactly(tag, in, 8L * n);
                out = new Object[n];
                for (int i = 0; i < n; i++) {
                    out[i] = in.getLong();
                }
            }
            case INTS -> {
                exactly(tag, in, 4L * n);
                out = new Object[n];
                for (int i = 0; i < n; i++) {
                    out[i] = in.getInt();
                }
            }
            case DOUBLES -> {
                exactly(tag, in, 8L * n);
                out = new Object[n];
                for (int i = 0; i < n; i++) {
                    out[i] = Double.longBitsToDouble(in.getLong());
                }
            }
            case MIXED -> {
                if (n > in.remaining()) {   // every element takes at least its tag
                    throw truncated(tag, bytes.size());
                }
                out = new Object[n];
                try {
                    for (int i = 0; i < n; i++) {
                        out[i] = element(in);
                    }
                } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
                    throw truncated(tag, bytes.size());
                }
                if (in.hasRemaining()) {
                    throw truncated(tag, bytes.size());
                }
            }
            default -> throw new CodecException("cannot decode: unknown plain array tag " + tag, null, null);
        }
        return out;
    }

    private static Object element(ByteBuffer in) {
        byte tag = in.get();
        return switch (tag) {
            case PlainValues.NULL -> null;
            case PlainValues.LONG -> in.getLong();
            case PlainValues.INT -> in.getInt();
            case PlainValues.DOUBLE -> Double.longBitsToDouble(in.getLong());
            case PlainValues.TRUE -> Boolean.TRUE;
            case PlainValues.FALSE -> Boolean.FALSE;
            case PlainValues.STRING -> new String(bytes(in), StandardCharsets.UTF_8);
            case PlainValues.BYTES -> bytes(in);
            default -> throw new IllegalArgumentException("tag " + tag);
        };
    }

    private static byte[] bytes(ByteBuffer in) {
        int length = in.getInt();
        if (length < 0 || length > in.remaining()) {
            throw new IllegalArgumentException("length " + length);
        }
        byte[] b = new byte[length];
        in.get(b);
        return b;
    }

    private static void exactly(byte tag, ByteBuffer in, long expected) {
        if (in.remaining() != expected) {
            throw new CodecException("cannot decode: a plain array of tag " + tag + " needs " + (HEADER + expected)
                    + " bytes, got " + (HEADER + in.remaining()), null, null);
        }
    }

    private static CodecException truncated(byte tag, int size) {
        return new CodecException("cannot decode: a plain array of tag " + tag + " is truncated or malformed ("
                + size + " bytes)", null, null);
    }
}
