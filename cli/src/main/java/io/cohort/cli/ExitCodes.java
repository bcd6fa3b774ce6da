package io.cohort.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** What the {@code cohort} commands' exit statuses mean (README: "Status, drain, health, logs"). */
public final class ExitCodes {
    public static final int OK = 0;
    /** Anything else: the message says what. */
    public static final int FAILED = 1;
    /** A bad flag, value or config file. */
    public static final int USAGE = 2;
    /** The coordinator could not be reached (or did not answer in time). */
    public static final int CANNOT_CONNECT = 3;
    /** The token was refused, or its role may not do this. */
    public static final int PERMISSION_DENIED = 4;
    /** No such worker (or other named thing). */
    public static final int NOT_FOUND = 5;

    private ExitCodes() {
    }

    /** The exit status for a call that failed with {@code e}. */
    public static int of(StatusRuntimeException e) {
        Status.Code code = e.getStatus().getCode();
        return switch (code) {
            case UNAVAILABLE, DEADLINE_EXCEEDED -> CANNOT_CONNECT;
            case PERMISSION_DENIED, UNAUTHENTICATED -> PERMISSION_DENIED;
            case NOT_FOUND -> NOT_FOUND;
            default -> FAILED;
        };
    }
}
