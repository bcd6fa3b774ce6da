package io.cohort.common;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.cohort.proto.v1.CodeRef;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * A task body with the code it needs in front: a tag byte, the length of a {@link CodeRef}, the
 * CodeRef, then the codec's encoding of the body. The tag is neither a plain value's tag nor
 * 0xAC (a JDK stream), so a body without code passes unchanged, and the function's digest
 * (SHA-256 of these bytes) differs between two builds of the same class: a worker never mixes
 * them up. The coordinator relays the bytes as they are.
 */
public final class ShippedCode {
    /** The version of what a client asks of a worker (this framing and CodeRef); a worker serves up to its own. */
    public static final int API_VERSION = 1;
    private static final byte TAG = 0x43;   // 'C'
    /**
     * Packages a shipped loader always takes from the worker (parent-first): the JDK, Cohort's
     * API and what its messages are made of. A second copy of these would not be the type the
     * worker calls.
     */
    private static final List<String> PARENT_FIRST = List.of("java.", "javax.", "jdk.", "sun.", "com.sun.",
            "io.cohort.", "io.grpc.", "com.google.protobuf.");

    private ShippedCode() {}

    /** {@code body} with {@code code} in front. */
    public static ByteString wrap(CodeRef code, ByteString body) {
        ByteString ref = code.toByteString();
        ByteString.Output out = ByteString.newOutput(ref.size() + 8);
        try {
            out.write(TAG);
            CodedOutputStream c = CodedOutputStream.newInstance(out);
            c.writeUInt32NoTag(ref.size());
            c.flush();
            ref.writeTo(out);
        } catch (IOException e) {
            throw new IllegalStateException("writing to memory", e);
        }
        return out.toByteString().concat(body);
    }

    /** Whether {@code bytes} carry a CodeRef in front. */
    public static boolean wrapped(ByteString bytes) {
        return !bytes.isEmpty() && bytes.byteAt(0) == TAG;
    }

    /** A wrapped body split into its parts. */
    public record Parts(CodeRef code, ByteString body) {}

    /** Splits a wrapped body; throws {@link CodecException} when the framing is broken. */
    public static Parts unwrap(ByteString bytes) {
        try {
            CodedInputStream in = bytes.substring(1).newCodedInput();
            int length = in.readUInt32();
            int start = 1 + in.getTotalBytesRead();
            if (length < 0 || start + (long) length > bytes.size()) {
                throw new CodecException("a task body's code reference is cut short", null, null);
            }
            CodeRef code = CodeRef.parseFrom(bytes.substring(start, start + length));
            return new Parts(code, bytes.substring(start + length));
        } catch (InvalidProtocolBufferException e) {
            throw new CodecException("a task body's code reference does not decode: " + e.getMessage(), null, e);
        } catch (IOException e) {
            throw new CodecException("a task body's code reference does not decode: " + e, null, e);
        }
    }

    /** Whether a shipped loader takes {@code className} from the worker rather than from the bundles. */
    public static boolean parentFirst(String className) {
        for (String p : PARENT_FIRST) {
            if (className.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    /** The class file's resource name, e.g. {@code com/example/Job$1.class}. */
    public static String resourceName(String className) {
        return className.replace('.', '/') + ".class";
    }

    /** SHA-256 of everything {@code in} holds; closes it. */
    public static ByteString sha256(InputStream in) throws IOException {
        MessageDigest md = sha256();
        try (in) {
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return ByteString.copyFrom(md.digest());
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }

    /** A hash as hex, the form messages and file names use. */
    public static String hex(ByteString sha256) {
        return java.util.HexFormat.of().formatHex(sha256.toByteArray());
    }
}
