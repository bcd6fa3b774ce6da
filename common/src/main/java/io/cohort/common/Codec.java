package io.cohort.common;

import com.google.protobuf.ByteString;

/**
 * Turns task bodies, arguments, results and exceptions into bytes and back. Every decode
 * is guarded by the codec's class filter. Implementations are thread-safe.
 */
public interface Codec {
    /** Encodes a value; throws {@link CodecException} naming the class that cannot be encoded. */
    ByteString encode(Object value);

    /**
     * Decodes a value, resolving classes through {@code loader}. Throws {@link CodecException}
     * (whose cause is the {@code ClassNotFoundException} when a class is missing).
     */
    Object decode(ByteString bytes, ClassLoader loader);

    /** The default codec. */
    static Codec standard() {
        return JdkCodec.INSTANCE;
    }
}
