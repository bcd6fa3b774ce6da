package io.cohort.release;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A command of the unpacked release run as a user would: from an empty working directory, with
 * an environment that names only a JDK, a home and a private temporary directory (no Maven, no
 * source tree, no JAVA_HOME). Its output lines are kept for the test to wait on.
 */
final class Launched implements AutoCloseable {
    private final Process process;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final StringBuffer all = new StringBuffer();
    private final Thread reader;

    Launched(Path release, Path cwd, Map<String, String> env, List<String> args) throws IOException {
        ProcessBuilder pb = new ProcessBuilder();
        pb.command().add(release.resolve("bin/cohort").toString());
        pb.command().addAll(args);
        pb.directory(cwd.toFile()).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().putAll(env);
        process = pb.start();
        reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    all.append(line).append('\n');
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "release-output-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /** The first line from now on that matches {@code regex}, as a match; fails after {@code seconds}. */
    Matcher await(String regex, int seconds) throws InterruptedException {
        Pattern p = Pattern.compile(regex);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null) {
                Matcher m = p.matcher(line);
                if (m.find()) {
                    return m;
                }
            } else if (!process.isAlive() && lines.isEmpty()) {
                throw new AssertionError("exited " + process.exitValue() + " before printing /" + regex + "/:\n" + all);
            }
        }
        throw new AssertionError("no line /" + regex + "/ within " + seconds + " s:\n" + all);
    }

    /** Sends SIGTERM and returns the exit status, once all the output is read. */
    int terminate(int seconds) throws InterruptedException {
        process.destroy();
        return ended(seconds, "still running " + seconds + " s after SIGTERM");
    }

    /** Waits for the command to end by itself; returns its status, once all the output is read. */
    int exitStatus(int seconds) throws InterruptedException {
        return ended(seconds, "still running after " + seconds + " s");
    }

    private int ended(int seconds, String otherwise) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError(otherwise + ":\n" + all);
        }
        reader.join(TimeUnit.SECONDS.toMillis(seconds));   // the pipe closes with the process: its last lines
        return process.exitValue();
    }

    String output() {
        return all.toString();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
