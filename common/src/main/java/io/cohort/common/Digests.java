package io.cohort.common;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Content digests that name cached functions. */
public final class Digests {
    private Digests() {}

    public static ByteString sha256(ByteString bytes) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (ByteBuffer b : bytes.asReadOnlyByteBufferList()) {
                md.update(b);
            }
            return ByteString.copyFrom(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }
}
