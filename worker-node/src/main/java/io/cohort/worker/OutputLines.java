package io.cohort.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * The lines of a process's stdout or stderr, each cut to {@link #MAX_LINE_CHARS}: a process
 * that writes a gigabyte without a newline must cost the worker neither its heap nor (in one
 * oversized message) its stream. A line ends at {@code \n}, and a {@code \r} before it is
 * dropped. Not thread-safe: one reader thread.
 */
final class OutputLines implements AutoCloseable {
    /** The most of one line that is kept; the rest is dropped and counted. */
    static final int MAX_LINE_CHARS = 64 * 1024;

    private final BufferedReader in;
    private final StringBuilder line = new StringBuilder();

    OutputLines(InputStream stream) {
        this.in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8));
    }

    /** The next line, null at the end of the stream; a cut line ends with a note of its length. */
    String next() throws IOException {
        line.setLength(0);
        long length = 0;
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
            if (length++ < MAX_LINE_CHARS) {
                line.append((char) c);
            }
        }
        if (c == -1 && length == 0) {
            return null;
        }
        if (length > MAX_LINE_CHARS) {
            return line.append("... [line cut: ").append(length).append(" chars in all]").toString();
        }
        int end = line.length();
        return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
    }

    /** True when a read would not block (some output is buffered). */
    boolean ready() throws IOException {
        return in.ready();
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
