package io.cohort.worker;

import io.cohort.common.ChannelSecurity;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.WorkerWelcome;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The daemon's handle on one child JVM ({@link ChildMain}).
 *
 * <p>Protocol: the daemon listens on a loopback port of its own for this child and passes
 * the port on the command line; a random token and the daemon's credentials for the
 * coordinator (TLS files and worker token, see {@link #writeSecrets}) go down the child's
 * stdin, never on a command line, where any local user could read them. The child connects and says
 * {@code AttachRequest{hello{worker_id = token, pid}}}; the daemon answers
 * {@code AttachResponse{welcome{worker_id = the daemon's id}}}. Then the daemon sends
 * {@code AttachResponse}s (functions, one assign at a time, cancels: interrupt the task
 * thread) and the child answers {@code AttachRequest{results}}. Every message is a
 * length-delimited protobuf. The child's stdin is a pipe the daemon never writes: its end
 * tells the child that the daemon died.
 *
 * <p>Thread-safe. The listener is called on this child's reader thread.
 */
final class ChildJvm {
    /** How long a child may take to start and connect. */
    static final long CONNECT_TIMEOUT_MS = 60_000;

    interface Listener {
        void message(ChildJvm child, AttachRequest message);

        /** The child's process ended (or its socket did, and the process was then ended). */
        void exited(ChildJvm child, int exitCode);
    }

    private final Process process;
    private final Socket socket;
    private final OutputStream out;
    private final long pid;

    private ChildJvm(Process process, Socket socket, long pid) throws IOException {
        this.process = process;
        this.socket = socket;
        this.out = new BufferedOutputStream(socket.getOutputStream());
        this.pid = pid;
    }

    /**
     * Starts a child and waits until it has connected. {@code pipeOutput} keeps its stdout and
     * stderr for the caller to read ({@link #process()}); otherwise they go to the daemon's.
     */
    static ChildJvm start(WorkerConfig config, String workerId, List<String> jvmOptions, boolean processMode,
                          boolean pipeOutput, Listener listener) throws IOException {
        return start(config, workerId, jvmOptions, processMode, pipeOutput, listener, null);
    }

    /** As above; {@code codeCache} is the daemon's cache of shipped bundles, which the child shares (null: none). */
    static ChildJvm start(WorkerConfig config, String workerId, List<String> jvmOptions, boolean processMode,
                          boolean pipeOutput, Listener listener, Path codeCache) throws IOException {
        String token = UUID.randomUUID().toString();
        try (ServerSocket server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress())) {
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(jvmOptions);
            command.addAll(List.of("-cp", classPath(config.classLoader()), ChildMain.class.getName(),
                    Integer.toString(server.getLocalPort()), config.coordinator(),
                    processMode ? "process" : "pool", filterArgument(config),
                    codeCache == null ? "" : codeCache.toString()));
            ProcessBuilder builder = new ProcessBuilder(command);
            if (!pipeOutput) {
                builder.redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
            }
            Process process = builder.start();
            try {
                writeSecrets(process.getOutputStream(), token, config.security());
                ChildJvm child = accept(server, process, token);
                child.send(AttachResponse.newBuilder()
                        .setWelcome(WorkerWelcome.newBuilder().setProtocolVersion(Protocol.VERSION).setWorkerId(workerId))
                        .build());
                child.startReader(listener);
                return child;
            } catch (IOException | RuntimeException e) {
                process.destroyForcibly();
                throw e;
            }
        }
    }

    /**
     * The handshake token, then how to reach the coordinator as the daemon does: TLS trust,
     * client certificate and key paths, and the worker token ("" for none). The pipe stays
     * open: its end tells the child that the daemon died.
     */
    static void writeSecrets(OutputStream stdin, String token, ChannelSecurity security) throws IOException {
        DataOutputStream out = new DataOutputStream(stdin);
        out.writeUTF(token);
        out.writeUTF(pathOrEmpty(security.trustCertificates()));
        out.writeUTF(pathOrEmpty(security.certificate()));
        out.writeUTF(pathOrEmpty(security.key()));
        out.writeUTF(security.tokenValue().orElse(""));
        out.flush();
    }

    /** What {@link #writeSecrets} wrote: the handshake token and the channel security. */
    static Map.Entry<String, ChannelSecurity> readSecrets(InputStream stdin) throws IOException {
        DataInputStream in = new DataInputStream(stdin);
        String token = in.readUTF();
        Path trust = pathOrNull(in.readUTF());
        Path certificate = pathOrNull(in.readUTF());
        Path key = pathOrNull(in.readUTF());
        String workerToken = in.readUTF();
        return Map.entry(token, new ChannelSecurity(trust, certificate, key, workerToken.isEmpty() ? null : workerToken));
    }

    private static String pathOrEmpty(Path p) {
        return p == null ? "" : p.toAbsolutePath().toString();
    }

    private static Path pathOrNull(String s) {
        return s.isEmpty() ? null : Path.of(s);
    }

    /** The daemon's deserialization filter pattern for the child, "" for the built-in refusals alone. */
    static String filterArgument(WorkerConfig config) {
        String pattern = config.deserializationFilter().pattern();
        return pattern == null ? "" : pattern;
    }

    private static ChildJvm accept(ServerSocket server, Process process, String token) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CONNECT_TIMEOUT_MS);
        server.setSoTimeout(200);   // to notice a child that died before connecting
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("the child JVM exited with code " + process.exitValue() + " before connecting");
            }
            Socket s;
            try {
                s = server.accept();
            } catch (SocketTimeoutException notYet) {
                continue;
            }
            s.setTcpNoDelay(true);
            s.setSoTimeout((int) CONNECT_TIMEOUT_MS);
            InputStream in = s.getInputStream();
            AttachRequest hello = AttachRequest.parseDelimitedFrom(in);
            if (hello == null || !hello.getHello().getWorkerId().equals(token)) {
                s.close();   // not our child
                continue;
            }
            s.setSoTimeout(0);
            return new ChildJvm(process, s, hello.getHello().getPid());
        }
        throw new IOException("the child JVM did not connect within " + CONNECT_TIMEOUT_MS + " ms");
    }

    /** The daemon's class path plus the URLs of its task class loader (--classpath). */
    static String classPath(ClassLoader taskLoader) {
        List<String> entries = new ArrayList<>(List.of(System.getProperty("java.class.path").split(File.pathSeparator)));
        if (taskLoader instanceof URLClassLoader u) {
            for (URL url : u.getURLs()) {
                try {
                    entries.add(Path.of(url.toURI()).toString());
                } catch (URISyntaxException | IllegalArgumentException notAFile) {
                    // only local jars and directories can go on a command line
                }
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private void startReader(Listener listener) throws IOException {
        InputStream in = new BufferedInputStream(socket.getInputStream());
        Thread reader = new Thread(() -> {
            try {
                AttachRequest m;
                while ((m = AttachRequest.parseDelimitedFrom(in)) != null) {
                    listener.message(this, m);
                }
            } catch (IOException | RuntimeException ended) {
                // the child died or was closed
            }
            listener.exited(this, awaitExit());
        }, "cohort-child-" + pid);
        reader.setDaemon(true);
        reader.start();
    }

    /** Waits for the process after its socket ended; one that lingers is killed. */
    private int awaitExit() {
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            return process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            return -1;
        }
    }

    synchronized void send(AttachResponse m) throws IOException {
        m.writeDelimitedTo(out);
        out.flush();
    }

    long pid() {
        return pid;
    }

    Process process() {
        return process;
    }

    /** Ends the child: it halts when its socket closes; {@code forcibly} kills it with SIGKILL. */
    void close(boolean forcibly) {
        if (forcibly) {
            process.destroyForcibly();
        }
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** SIGTERM. */
    void terminate() {
        process.destroy();
    }
}
