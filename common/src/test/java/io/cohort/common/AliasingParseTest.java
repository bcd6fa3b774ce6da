package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.FunctionDef;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AliasingParseTest {
    private final MethodDescriptor.Marshaller<FunctionDef> marshaller =
            AliasingParse.marshaller(ProtoUtils.marshaller(FunctionDef.getDefaultInstance()));

    @Test
    void aLargeMessageIsReadOnceAndItsBytesFieldPointsIntoThatBuffer() throws Exception {
        byte[] body = new byte[8 << 20];
        new Random(7).nextBytes(body);
        FunctionDef sent = FunctionDef.newBuilder().setDigest(ByteString.copyFromUtf8("d")).setBody(ByteString.copyFrom(body)).build();
        for (int warm = 0; warm < 3; warm++) {
            marshaller.parse(marshaller.stream(sent));
        }
        InputStream wire = new KnownLengthStream(sent.toByteArray());   // as gRPC hands a received message over
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        FunctionDef received = marshaller.parse(wire);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertEquals(sent, received);
        // one buffer of the message's size; a copied bytes field or a gathered read would double it
        assertTrue(allocated < body.length * 3L / 2, "parsing 8 MiB allocated " + allocated + " bytes");
    }

    /** gRPC's received-message streams know their length, which is what selects the aliasing path. */
    static final class KnownLengthStream extends ByteArrayInputStream implements KnownLength {
        KnownLengthStream(byte[] bytes) {
            super(bytes);
        }
    }

    @Test
    void smallMessagesParseAsBefore() {
        FunctionDef sent = FunctionDef.newBuilder().setBody(ByteString.copyFromUtf8("small")).build();
        assertEquals(sent, marshaller.parse(marshaller.stream(sent)));
    }
}
