package io.cohort.common;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;

/**
 * Parses large messages with their bytes fields pointing into the one buffer the message was
 * read into. gRPC's protobuf marshaller reads a message into a reused buffer and then copies
 * every bytes field out of it: for a 1 MiB payload that is a second copy on every hop.
 */
public final class AliasingParse {
    /** Smaller messages go to gRPC's own parser (its reused buffer is cheaper for them). */
    static final int ALIAS_FROM_BYTES = 64 * 1024;

    private AliasingParse() {}

    /** {@code method} with both its request and response marshallers parsing this way. */
    public static <Q extends MessageLite, A extends MessageLite> MethodDescriptor<Q, A> of(MethodDescriptor<Q, A> method) {
        return method.toBuilder(marshaller(method.getRequestMarshaller()), marshaller(method.getResponseMarshaller()))
                .build();
    }

    /** {@code plain} (a protobuf marshaller) parsing large messages with aliasing. */
    @SuppressWarnings("unchecked")
    public static <T extends MessageLite> MethodDescriptor.Marshaller<T> marshaller(MethodDescriptor.Marshaller<T> plain) {
        if (!(plain instanceof MethodDescriptor.PrototypeMarshaller<T> proto)) {
            return plain;
        }
        Parser<T> parser = (Parser<T>) proto.getMessagePrototype().getParserForType();
        return new MethodDescriptor.PrototypeMarshaller<>() {
            @Override
            public InputStream stream(T value) {
                return plain.stream(value);
            }

            @Override
            public T parse(InputStream in) {
                try {
                    if (in instanceof KnownLength && in.available() >= ALIAS_FROM_BYTES) {
                        // The buffer is the message's own, never reused: its fields may point into it.
                        // readNBytes(int) would gather 8 KiB pieces and copy them once more
                        byte[] buf = new byte[in.available()];
                        if (in.readNBytes(buf, 0, buf.length) != buf.length) {
                            throw Status.INTERNAL.withDescription("message shorter than announced").asRuntimeException();
                        }
                        // A stream over a plain byte[] copies bytes fields even with aliasing on;
                        // one made from a wrapped buffer knows the buffer is immutable and slices it.
                        CodedInputStream cis = UnsafeByteOperations.unsafeWrap(buf).newCodedInput();
                        cis.enableAliasing(true);
                        cis.setSizeLimit(Integer.MAX_VALUE);
                        return parser.parseFrom(cis);
                    }
                } catch (InvalidProtocolBufferException e) {
                    throw Status.INTERNAL.withDescription("invalid protobuf byte sequence").withCause(e).asRuntimeException();
                } catch (IOException e) {
                    throw Status.INTERNAL.withDescription("cannot read the message").withCause(e).asRuntimeException();
                }
                return plain.parse(in);
            }

            @Override
            public Class<T> getMessageClass() {
                return proto.getMessageClass();
            }

            @Override
            public T getMessagePrototype() {
                return proto.getMessagePrototype();
            }
        };
    }
}
