package io.cohort.common;

/** A value could not be encoded or decoded; the message names the class at fault. */
public class CodecException extends RuntimeException {
    private final String className;

    public CodecException(String message, String className, Throwable cause) {
        super(message, cause);
        this.className = className;
    }

    /** The class that could not be encoded, found or admitted; null if unknown. */
    public String className() {
        return className;
    }
}
