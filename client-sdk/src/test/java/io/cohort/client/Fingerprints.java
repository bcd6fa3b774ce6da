package io.cohort.client;

import io.cohort.common.TaskBody;
import java.util.Random;
import java.util.zip.CRC32;

/** Large task arguments made from a seed, and their fingerprints: what a task returns and a test expects. */
final class Fingerprints {
    private Fingerprints() {}

    /** A task body that returns its byte[] argument's fingerprint. */
    static final class Body implements TaskBody {
        @Override
        public Object call(Object input) {
            return of((byte[]) input);
        }
    }

    static long of(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return crc.getValue() ^ ((long) bytes.length << 32);
    }

    /** {@code size} random bytes from {@code seed}: the same each time. */
    static byte[] argument(long seed, int size) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }
}
