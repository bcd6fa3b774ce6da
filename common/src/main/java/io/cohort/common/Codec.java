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

    /** The default codec: JDK serialization behind {@link DeserializationFilter#standard()}. */
    static Codec standard() {
        return JdkCodec.INSTANCE;
    }

    /** The default codec behind {@code filter} (the built-in refusals plus a configured pattern). */
    static Codec filtered(DeserializationFilter filter) {
        return filter == DeserializationFilter.standard() ? JdkCodec.INSTANCE : new JdkCodec(filter);
    }
}
