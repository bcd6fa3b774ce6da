package io.cohort.bench.l0;

import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * One message of the relay: the first {@code length} bytes of {@code bytes}, a run of items
 * ({@link Items}). The relay's own wire format, so L0 does not depend on Cohort's protocol.
 */
record Frame(byte[] bytes, int length) {
    /** The relay's one method: a bidirectional stream of frames, the same shape on every hop. */
    static final MethodDescriptor<Frame, Frame> METHOD = MethodDescriptor.<Frame, Frame>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName("l0.Relay", "Exchange"))
            .setRequestMarshaller(Marshaller.INSTANCE)
            .setResponseMarshaller(Marshaller.INSTANCE)
            .build();

    /** Frames up to this size are accepted; items of 1 MiB travel one per frame. */
    static final int MAX_MESSAGE_BYTES = 64 << 20;
    /** The HTTP/2 flow-control window, as large as Cohort's own (8 MiB) so W5 compares. */
    static final int FLOW_CONTROL_WINDOW = 8 << 20;

    /**
     * Outbound, gRPC drains the frame straight into its buffers (one copy, no intermediate
     * stream); inbound, the message's known length is read into one array.
     */
    private enum Marshaller implements MethodDescriptor.Marshaller<Frame> {
        INSTANCE;

        @Override
        public InputStream stream(Frame f) {
            return new Out(f);
        }

        @Override
        public Frame parse(InputStream in) {
            try {
                if (!(in instanceof KnownLength)) {
                    byte[] b = in.readAllBytes();
                    return new Frame(b, b.length);
                }
                // one array of the known length (readNBytes(int) would gather 8 KiB pieces and copy them again)
                int n = in.available();
                byte[] b = new byte[n];
                if (in.readNBytes(b, 0, n) != n) {
                    throw new IllegalStateException("L0: a message shorter than its length");
                }
                return new Frame(b, n);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    private static final class Out extends InputStream implements KnownLength, Drainable {
        private final Frame f;
        private int pos;

        Out(Frame f) {
            this.f = f;
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            int n = f.length - pos;
            target.write(f.bytes, pos, n);
            pos = f.length;
            return n;
        }

        @Override
        public int available() {
            return f.length - pos;
        }

        @Override
        public int read() {
            return pos < f.length ? f.bytes[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos >= f.length) {
                return -1;
            }
            int n = Math.min(len, f.length - pos);
            System.arraycopy(f.bytes, pos, b, off, n);
            pos += n;
            return n;
        }
    }
}
