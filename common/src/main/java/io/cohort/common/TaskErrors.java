package io.cohort.common;

import io.cohort.proto.v1.StackFrame;
import io.cohort.proto.v1.TaskError;

/**
 * Converts exceptions to their wire form, within {@link #MAX_PART_BYTES} for each of the
 * message, the stack frames and the serialized exception: a task's exception must never make
 * a message too large for its stream (that would end the stream and lose every other task on
 * the worker).
 */
public final class TaskErrors {
    /**
     * The most each part of a described exception may take: the message (UTF-8) is cut to it,
     * the frames that do not fit are dropped (a last frame says how many), and a serialized
     * exception over it is not sent (the client then gets a {@code RemoteTaskException} with the
     * class name, the message and the frames).
     */
    public static final int MAX_PART_BYTES = 64 * 1024;

    private TaskErrors() {}

    /** Describes {@code error} and, when the codec can within the limit, carries the exception itself. */
    public static TaskError describe(Throwable error, String workerId, Codec codec) {
        TaskError.Builder b = TaskError.newBuilder()
                .setClassName(truncate(error.getClass().getName(), MAX_PART_BYTES))
                .setWorkerId(workerId == null ? "" : workerId);
        String message = error.getMessage();
        boolean cut = false;
        if (message != null) {
            String kept = truncate(message, MAX_PART_BYTES);
            cut = kept != message;
            b.setMessage(kept);
        }
        addFrames(b, error.getStackTrace());
        if (!cut) {   // a cut message would be whole, over the limit, in the serialized form
            try {
                com.google.protobuf.ByteString serialized = codec.encode(error);
                if (serialized.size() <= MAX_PART_BYTES) {
                    b.setSerialized(serialized);
                }
            } catch (RuntimeException notEncodable) {
                // The description alone is enough for the client's RemoteTaskException.
            }
        }
        return b.build();
    }

    /** An error raised by Cohort itself (not the task), with no exception to carry. */
    public static TaskError plain(String className, String message, String workerId) {
        return TaskError.newBuilder().setClassName(className).setMessage(truncate(message, MAX_PART_BYTES))
                .setWorkerId(workerId == null ? "" : workerId).build();
    }

    /** {@code error} without its serialized exception and frames: what an over-large result keeps of it. */
    public static TaskError slim(TaskError error) {
        return error.toBuilder().clearSerialized().clearFrames().build();
    }

    /**
     * {@code s} cut so that its UTF-8 encoding, with a note saying how long it was, takes at
     * most about {@code maxBytes}; {@code s} itself (the same instance) when it fits.
     */
    public static String truncate(String s, int maxBytes) {
        if (s.length() <= maxBytes / 3) {
            return s;   // at most 3 UTF-8 bytes per char
        }
        String note = "... [truncated: " + s.length() + " chars in all]";
        int budget = maxBytes - note.length();
        int bytes = 0;
        int i = 0;
        while (i < s.length()) {
            int cp = s.codePointAt(i);
            int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            if (bytes + n > budget) {
                return s.substring(0, i) + note;
            }
            bytes += n;
            i += Character.charCount(cp);
        }
        return s;
    }

    /** Adds the frames that fit in {@link #MAX_PART_BYTES}, then one saying how many were left out. */
    private static void addFrames(TaskError.Builder b, StackTraceElement[] trace) {
        int bytes = 0;
        for (int i = 0; i < trace.length; i++) {
            StackFrame f = frame(trace[i]);
            bytes += f.getSerializedSize() + 3;   // with its tag and length
            if (bytes > MAX_PART_BYTES - 128) {
                b.addFrames(StackFrame.newBuilder().setDeclaringClass("...")
                        .setMethodName("[" + (trace.length - i) + " more frames not sent]").setLineNumber(-1));
                return;
            }
            b.addFrames(f);
        }
    }

    public static StackFrame frame(StackTraceElement e) {
        StackFrame.Builder f = StackFrame.newBuilder()
                .setDeclaringClass(e.getClassName())
                .setMethodName(e.getMethodName())
                .setLineNumber(e.getLineNumber());
        if (e.getFileName() != null) {
            f.setFileName(e.getFileName());
        }
        return f.build();
    }

    public static StackTraceElement[] frames(TaskError error) {
        StackTraceElement[] out = new StackTraceElement[error.getFramesCount()];
        for (int i = 0; i < out.length; i++) {
            StackFrame f = error.getFrames(i);
            out[i] = new StackTraceElement(f.getDeclaringClass(), f.getMethodName(),
                    f.getFileName().isEmpty() ? null : f.getFileName(), f.getLineNumber());
        }
        return out;
    }
}
