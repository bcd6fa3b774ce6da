package io.cohort.common;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.util.ArrayList;
import java.util.List;

/**
 * Helpers for the column messages of {@code columns.proto}: one bytes blob holding every
 * task's argument (or value) back to back, with a column of end offsets.
 */
public final class Columns {
    /** {@code ColumnFlag.PRESENT}: the task's bytes are there (absent means null). */
    public static final int PRESENT = 1;
    /** {@code ColumnFlag.CHUNK}: a chunk task. */
    public static final int CHUNK = 2;

    private Columns() {}

    /**
     * Whether a task travels in columns: a function by digest and an inline argument, with no
     * isolation, process or chunked payload (those travel as one message each).
     */
    public static boolean fits(io.cohort.proto.v1.TaskSpec spec) {
        return spec.getBody().isEmpty() && !spec.getFunctionDigest().isEmpty() && !spec.hasProcess()
                && !spec.hasArgumentPayload() && spec.getIsolation() == io.cohort.proto.v1.Isolation.THREADS
                && spec.getIsolationGroup().isEmpty() && spec.getMaxTasksPerChild() == 0;
    }

    /** A task's flags column entry. */
    public static int flags(ByteString bytes, boolean chunk) {
        return (bytes != null ? PRESENT : 0) | (chunk ? CHUNK : 0);
    }

    /**
     * Checks a batch's shape: {@code count} tasks, each named column either per task or (when
     * {@code mayBeEmpty}) empty, and byte ranges that stay within the blob. Returns a problem
     * to report, or null when the batch is sound.
     */
    public static String checkEnds(String what, List<Integer> ends, int count, int blobSize) {
        if (ends.size() != count) {
            return what + " has " + ends.size() + " entries for " + count + " tasks";
        }
        long previous = 0;
        for (int i = 0; i < count; i++) {
            long end = Integer.toUnsignedLong(ends.get(i));
            if (end < previous || end > blobSize) {
                return what + "[" + i + "] = " + end + " lies: it must be between " + previous + " and the blob's "
                        + blobSize + " bytes";
            }
            previous = end;
        }
        return null;
    }

    /** Null when {@code column} has {@code count} entries (or none, if allowed), else the problem. */
    public static String checkCount(String what, int size, int count, boolean mayBeEmpty) {
        if (size == count || (mayBeEmpty && size == 0)) {
            return null;
        }
        return what + " has " + size + " entries for " + count + " tasks";
    }

    /** Null when every index in {@code column} is below {@code tableSize}, else the problem. */
    public static String checkIndexes(String what, List<Integer> column, int tableSize) {
        for (int i = 0; i < column.size(); i++) {
            if (Integer.toUnsignedLong(column.get(i)) >= tableSize) {
                return what + "[" + i + "] = " + Integer.toUnsignedString(column.get(i)) + " names none of the "
                        + tableSize + " entries of its table";
            }
        }
        return null;
    }

    /** Task {@code i}'s spec: its function's digest, its chunk flag and its argument, a slice of {@code args}. */
    public static io.cohort.proto.v1.TaskSpec spec(ByteString digest, ByteString args, List<Integer> argEnds,
                                                   List<Integer> flags, int i) {
        return spec(digest, slice(args, argEnds, flags, i), flags.get(i));
    }

    /** A task's spec from its function's digest, its argument (null: none) and its flags. */
    public static io.cohort.proto.v1.TaskSpec spec(ByteString digest, ByteString argument, int flags) {
        io.cohort.proto.v1.TaskSpec.Builder spec = io.cohort.proto.v1.TaskSpec.newBuilder().setFunctionDigest(digest)
                .setChunk((flags & CHUNK) != 0);
        if (argument != null) {
            spec.setArgument(argument);
        }
        return spec.build();
    }

    /** Task {@code i}'s bytes: a slice of the blob (no copy), or null when it has none. */
    public static ByteString slice(ByteString blob, List<Integer> ends, List<Integer> flags, int i) {
        if ((flags.get(i) & PRESENT) == 0) {
            return null;
        }
        int start = i == 0 ? 0 : ends.get(i - 1);
        return blob.substring(start, ends.get(i));
    }

    /**
     * Builds a blob from many values without copying the large ones: small values are copied
     * into shared arrays (cheaper than a rope node each), large ones are kept as the slices they
     * are, and the result is a rope over both. Not thread-safe.
     */
    public static final class Blob {
        /** Values at least this large are linked, not copied. */
        static final int LINK_FROM = 16 * 1024;
        private static final int FIRST_ARRAY = 4 * 1024;
        private static final int LARGEST_ARRAY = 256 * 1024;

        private final List<ByteString> pieces = new ArrayList<>();
        private byte[] array;
        private int used;
        /** Start of the bytes in {@code array} not yet made a piece. */
        private int runStart;
        private long size;

        /** Appends {@code value} (null appends nothing); returns the blob's size after it, the value's end. */
        public int append(ByteString value) {
            if (value == null || value.isEmpty()) {
                return (int) size;
            }
            int n = value.size();
            if (size + n > Integer.MAX_VALUE) {
                throw new IllegalStateException("a batch blob cannot exceed " + Integer.MAX_VALUE + " bytes");
            }
            if (n >= LINK_FROM) {
                endRun();
                pieces.add(value);
            } else {
                if (array == null || array.length - used < n) {
                    endRun();
                    array = new byte[Math.max(n, Math.min(LARGEST_ARRAY, array == null ? FIRST_ARRAY : array.length * 2))];
                    used = 0;
                    runStart = 0;
                }
                value.copyTo(array, used);
                used += n;
            }
            size += n;
            return (int) size;
        }

        public long size() {
            return size;
        }

        /** The blob; the builder must not be used afterwards. */
        public ByteString build() {
            endRun();
            if (pieces.size() == 1) {
                return pieces.get(0);
            }
            return ByteString.copyFrom(pieces);   // a balanced rope: links the pieces, copies no bytes
        }

        private void endRun() {
            if (array != null && used > runStart) {
                // Never written again below used: the wrapped range stays as it is.
                pieces.add(UnsafeByteOperations.unsafeWrap(array, runStart, used - runStart));
                runStart = used;
            }
        }
    }
}
