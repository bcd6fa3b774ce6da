package io.cohort.worker;

import io.cohort.common.Protocol;
import java.io.File;
import java.io.PrintWriter;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A worker daemon as the purpose of its JVM: drains on SIGTERM, SIGINT and SIGHUP, halts when
 * its parent ends, and turns the outcome into an exit status (0 after a drain, 1 on a fatal
 * error). The command lines ({@code cohort worker} in cohort-cli, {@link EmbeddedWorkerMain})
 * parse their flags into a {@link WorkerConfig} and call {@link #run}.
 */
public final class WorkerProcess {
    /** Held so the level set on it is not lost when the logger would otherwise be collected. */
    private static final java.util.logging.Logger QUIET_LOGS = java.util.logging.Logger.getLogger("io.cohort");

    private WorkerProcess() {}

    /**
     * Runs a daemon until it is drained (SIGTERM) or fails; returns the exit status. Halts
     * when {@code parent} ends. 
     */
    public static int run(WorkerConfig config, Optional<ProcessHandle> parent, boolean quiet, PrintWriter out, PrintWriter err) {
        return run(config, parent, quiet, out, err, SlotMeter.NONE);
    }

    /** As above, telling {@code meter} of each task and {@code interceptors} of each call to the coordinator. */
    public static int run(WorkerConfig config, Optional<ProcessHandle> parent, boolean quiet, PrintWriter out, PrintWriter err,
                          SlotMeter meter, io.grpc.ClientInterceptor... interceptors) {
        if (quiet) {
            QUIET_LOGS.setLevel(java.util.logging.Level.WARNING);
        }
        if (config.security().tokenValue().isEmpty()) {
            // Said once: a coordinator that takes no token lets any local user run code here.
            System.getLogger(WorkerProcess.class.getName()).log(System.Logger.Level.WARNING, "no worker token: this worker"
                    + " runs whatever a coordinator without tokens hands it, and any local user can submit to such a"
                    + " coordinator; give --token-file (the coordinator's --worker-token-file) to use tokens");
        }
        WorkerDaemon daemon = WorkerDaemon.start(config, meter, interceptors);
        parent.ifPresent(p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(0)));
        daemon.attached().thenAccept(workerId -> {
            if (quiet) {
                return;
            }
            out.println("cohort worker " + workerId + " attached to " + config.coordinator());
            out.flush();
        });
        Runnable drainThenHalt = () -> {
            int status = 0;
            try {
                status = daemon.drain().get(config.drainTimeout().toMillis() + 10_000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException | TimeoutException | java.util.concurrent.ExecutionException e) {
                status = 1;
            }
            Runtime.getRuntime().halt(status);   // exit 0 after a clean drain, not the signal's 143
        };
        // SIGTERM, SIGINT and SIGHUP drain. Handled as signals, not in a shutdown hook, so that a task
        // calling System.exit is not taken for one: that is a lost worker, not a drain.
        int status;
        try (DrainSignals signals = new DrainSignals(drainThenHalt)) {
            Thread onExit = signals.drainsOnSigterm()
                    // Any other end of the JVM (System.exit in a task): give the stream up at
                    // once, so the coordinator counts the worker lost before HotSpot has finished exiting.
                    ? new Thread(() -> daemon.abandon(ABANDON_WAIT), "cohort-worker-exit")
                    : new Thread(drainThenHalt, "cohort-worker-drain");
            Runtime.getRuntime().addShutdownHook(onExit);
            status = daemon.termination().join();
            try {
                Runtime.getRuntime().removeShutdownHook(onExit);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running and ends the JVM itself
            }
        }
        daemon.failure().ifPresent(why -> {
            err.println("cohort worker: " + why);
            err.flush();
        });
        return status;
    }

    /** How long a JVM exiting under the daemon waits for its connection to the coordinator to close. */
    private static final Duration ABANDON_WAIT = Duration.ofSeconds(1);

    /**
     * While open, SIGTERM, SIGINT and SIGHUP run {@code drain} on a thread of its own; closing puts the
     * JVM's own handlers back (run() also runs inside other JVMs, such as tests).
     */
    @SuppressWarnings("restriction")
    private static final class DrainSignals implements AutoCloseable {
        private final Map<sun.misc.Signal, sun.misc.SignalHandler> previous = new LinkedHashMap<>();

        DrainSignals(Runnable drain) {
            for (String name : new String[] {"TERM", "INT", "HUP"}) {
                sun.misc.Signal signal = new sun.misc.Signal(name);
                try {
                    previous.put(signal, sun.misc.Signal.handle(signal, s -> new Thread(drain, "cohort-worker-drain").start()));
                } catch (IllegalArgumentException | UnsupportedOperationException refused) {
                    // e.g. -Xrs: the JVM keeps the signal to itself
                }
            }
        }

        /** False when this JVM does not let us handle SIGTERM: then a shutdown hook must drain. */
        boolean drainsOnSigterm() {
            return previous.keySet().stream().anyMatch(s -> s.getName().equals("TERM"));
        }

        @Override
        public void close() {
            previous.forEach(sun.misc.Signal::handle);
        }
    }

    /** {@code HOST[:PORT]} as a gRPC target, with the default port when none is given. */
    public static String target(String hostPort) {
        String s = hostPort.strip();
        int colon = s.lastIndexOf(':');
        if (colon < 0 || s.endsWith("]")) {
            return s + ":" + Protocol.DEFAULT_PORT;
        }
        if (colon == 0) {
            throw new IllegalArgumentException("--coordinator needs a host: " + hostPort);
        }
        try {
            int port = Integer.parseInt(s.substring(colon + 1));
            if (port < 1 || port > 65535) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--coordinator must be HOST:PORT with a port from 1 to 65535: " + hostPort);
        }
        return s;
    }

    /** A loader for the application's jars and class directories ({@code --classpath}), under Cohort's. */
    public static ClassLoader classLoader(String classpath) {
        List<URL> urls = new ArrayList<>();
        for (String entry : classpath.split(File.pathSeparator)) {
            if (entry.isBlank()) {
                continue;
            }
            Path p = Path.of(entry);
            if (!Files.exists(p)) {
                throw new IllegalArgumentException("--classpath entry " + entry + " does not exist");
            }
            try {
                urls.add(p.toUri().toURL());
            } catch (MalformedURLException e) {
                throw new IllegalArgumentException("--classpath entry " + entry + " is not a valid path", e);
            }
        }
        return new URLClassLoader("cohort-tasks", urls.toArray(URL[]::new), WorkerProcess.class.getClassLoader());
    }
}
