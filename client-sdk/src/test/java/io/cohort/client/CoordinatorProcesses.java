package io.cohort.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Coordinators started by a test as real JVMs ({@code CoordinatorMain}), their output kept for
 * the test to read, and killed (by pid) when it ends.
 */
final class CoordinatorProcesses implements AutoCloseable {
    private final List<Process> started = new ArrayList<>();
    /** Every line any of them printed, as printed. */
    private final ConcurrentLinkedQueue<String> output = new ConcurrentLinkedQueue<>();

    /** Starts a coordinator with these JVM options and flags; returns once it listens. */
    Process start(List<String> jvmOptions, String... flags) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.cohort.cli.CoordinatorMain"));
        command.addAll(List.of(flags));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        started.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Void> listening = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    output.add(line);
                    System.out.println("[coordinator " + p.pid() + "] " + line);
                    if (line.contains("listening on")) {
                        listening.complete(null);
                    }
                }
                listening.completeExceptionally(new AssertionError("the coordinator exited: " + p.waitFor()));
            } catch (IOException | InterruptedException e) {
                listening.completeExceptionally(e);
            }
        }, "coordinator-output-" + p.pid());
        reader.setDaemon(true);
        reader.start();
        try {
            listening.get(90, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while the coordinator started", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the coordinator did not start", e);
        }
        return p;
    }

    /** What the coordinators printed so far, one line each. */
    String output() {
        return String.join("\n", output);
    }

    /** Writes {@code token} to a new owner-only file in {@code dir}, as the coordinator and workers require. */
    static Path tokenFile(Path dir, String name, String token) {
        try {
            Path file = Files.createFile(dir.resolve(name),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            return Files.writeString(file, token + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        for (Process p : started) {
            p.destroyForcibly();
        }
    }
}
