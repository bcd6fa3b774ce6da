package io.cohort.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Copies the standard error of the worker JVM that writes the AOT cache to this JVM's, less the
 * notices JDK 25 prints about writing it at exit (six lines, one holding the whole class path),
 * which no option turns off; everything else, a task's output included, passes unchanged, line
 * by line.
 */
final class AotNotices {
    private static final List<String> NOTICES = List.of("Temporary AOTConfiguration recorded: ",
            "Launching child process ", "Reading AOTConfiguration ", "AOTCache creation is complete: ",
            "Removed temporary AOT configuration file ");
    /** The JVM that assembles the cache is handed its options this way, and says so. */
    private static final String TOOL_OPTIONS = "Picked up JAVA_TOOL_OPTIONS: ";

    private AotNotices() {
    }

    /** Starts a daemon thread copying {@code from} to {@code to} until {@code from} ends. */
    static void filter(InputStream from, OutputStream to, String threadName) {
        Thread t = new Thread(() -> copy(from, to), threadName);
        t.setDaemon(true);
        t.start();
    }

    static void copy(InputStream from, OutputStream to) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try (from) {
            int n;
            while ((n = from.read(buf)) > 0) {
                for (int i = 0; i < n; i++) {
                    line.write(buf[i]);
                    if (buf[i] == '\n') {
                        emit(line, to);
                    }
                }
            }
            emit(line, to);
        } catch (IOException e) {
            // the worker is gone, or our stderr is closed: nothing left to copy
        }
    }

    private static void emit(ByteArrayOutputStream line, OutputStream to) throws IOException {
        if (line.size() == 0) {
            return;
        }
        String text = line.toString(StandardCharsets.ISO_8859_1);   // the notices are ASCII
        boolean notice = NOTICES.stream().anyMatch(text::startsWith)
                || text.startsWith(TOOL_OPTIONS) && text.contains("-XX:AOTMode=create");
        if (!notice) {
            line.writeTo(to);
            to.flush();
        }
        line.reset();
    }
}
