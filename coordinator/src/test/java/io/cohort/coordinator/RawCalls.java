package io.cohort.coordinator;

import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/** A method spoken in raw bytes, so that a fuzz test can send frames that do not decode. */
public final class RawCalls {
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    };

    private RawCalls() {}

    /** {@code typed}'s method (name and kind), its requests and responses as bytes. */
    public static MethodDescriptor<byte[], byte[]> raw(MethodDescriptor<?, ?> typed) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(typed.getType())
                .setFullMethodName(typed.getFullMethodName()).setRequestMarshaller(BYTES).setResponseMarshaller(BYTES)
                .build();
    }
}
