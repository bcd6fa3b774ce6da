package io.cohort.common;

/** Constants both ends of every stream agree on. */
public final class Protocol {
    /**
     * The protocol version spoken by this build; sent in every hello and welcome. 2: tasks and
     * results of the common shape travel in columns (columns.proto).
     */
    public static final int VERSION = 2;
    /** The coordinator's default port. */
    public static final int DEFAULT_PORT = 7070;
    /** Largest gRPC message either side accepts (a batch, or one task's payload). */
    public static final int MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
    /**
     * HTTP/2 flow-control window of every stream and connection, each way. gRPC's default of
     * 1 MiB is smaller than one 1 MiB payload with its envelope, so such a message stalled on a
     * window update at every hop; the window is also what a receiver may hold unread per stream.
     */
    public static final int FLOW_CONTROL_WINDOW = 8 * 1024 * 1024;
    /**
     * An argument or result whose encoding is larger than this travels in chunks
     * (PayloadService) rather than inside a task's message.
     */
    public static final int CHUNK_ABOVE_BYTES = 8 * 1024 * 1024;
    /** The size of one chunk of a large payload. */
    public static final int CHUNK_BYTES = 2 * 1024 * 1024;
    /** Re-runs after a lost worker when a task does not say. */
    public static final int DEFAULT_MAX_RETRIES = 3;

    private Protocol() {}
}
