package io.cohort.client;

/**
 * A task threw an exception whose class cannot be loaded on the client. It carries the remote
 * class name, message and worker id, and its stack trace is the remote frames. It reaches the
 * caller as the cause of the {@code ExecutionException} from {@code get()}.
 *
 * <p>{@link #getMessage()} reads like {@code "com.acme.BadThing: it broke (on worker w-1)"}.
 */
public class RemoteTaskException extends CohortException {
    private static final long serialVersionUID = 1L;

    private final String remoteClassName;
    private final String remoteMessage;
    private final String workerId;

    /**
     * @param remoteClassName the binary name of the exception's class on the worker
     * @param remoteMessage   its message, may be null
     * @param workerId        the worker it was thrown on, may be null when unknown
     * @param frames          its stack frames on the worker, may be null
     */
    public RemoteTaskException(String remoteClassName, String remoteMessage, String workerId,
                               StackTraceElement[] frames) {
        super(describe(remoteClassName, remoteMessage, workerId));
        this.remoteClassName = remoteClassName;
        this.remoteMessage = remoteMessage;
        this.workerId = workerId;
        setStackTrace(frames == null ? new StackTraceElement[0] : frames.clone());
    }

    /** The binary name of the exception's class on the worker. */
    public String remoteClassName() {
        return remoteClassName;
    }

    /** The exception's message on the worker; null if it had none. */
    public String remoteMessage() {
        return remoteMessage;
    }

    /** The worker the task ran on; null if unknown. */
    public String workerId() {
        return workerId;
    }

    private static String describe(String className, String message, String workerId) {
        StringBuilder s = new StringBuilder(className == null ? "unknown exception" : className);
        if (message != null) {
            s.append(": ").append(message);
        }
        if (workerId != null && !workerId.isEmpty()) {
            s.append(" (on worker ").append(workerId).append(')');
        }
        return s.toString();
    }
}
