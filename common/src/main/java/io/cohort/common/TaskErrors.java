package io.cohort.common;

import io.cohort.proto.v1.StackFrame;
import io.cohort.proto.v1.TaskError;

/** Converts exceptions to their wire form. */
public final class TaskErrors {
    private TaskErrors() {}

    /** Describes {@code error} and, when the codec can, carries the exception itself. */
    public static TaskError describe(Throwable error, String workerId, Codec codec) {
        TaskError.Builder b = TaskError.newBuilder()
                .setClassName(error.getClass().getName())
                .setWorkerId(workerId == null ? "" : workerId);
        if (error.getMessage() != null) {
            b.setMessage(error.getMessage());
        }
        for (StackTraceElement e : error.getStackTrace()) {
            b.addFrames(frame(e));
        }
        try {
            b.setSerialized(codec.encode(error));
        } catch (RuntimeException notEncodable) {
            // The description alone is enough for the client's RemoteTaskException.
        }
        return b.build();
    }

    /** An error raised by Cohort itself (not the task), with no exception to carry. */
    public static TaskError plain(String className, String message, String workerId) {
        return TaskError.newBuilder().setClassName(className).setMessage(message)
                .setWorkerId(workerId == null ? "" : workerId).build();
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
