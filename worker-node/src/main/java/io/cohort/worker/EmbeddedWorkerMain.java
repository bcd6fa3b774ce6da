package io.cohort.worker;

import io.cohort.common.ChannelSecurity;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.charset.Charset;
import java.util.Optional;

/**
 * The worker JVM that an embedded cluster ({@code Cohort.local}) starts: the few flags it
 * passes, read without picocli, whose reflective set-up (its classes are too old to be archived
 * for class-data sharing) was about a third of such a worker's start. Same daemon and exit
 * statuses as the {@code cohort worker} command (cohort-cli), which people run.
 *
 * <p>Flags: {@code --coordinator HOST:PORT} (required), {@code --id ID}, {@code --slots N},
 * {@code --parent-pid PID}, {@code --deserialization-filter PATTERN}, {@code --quiet}, and
 * {@code --token-stdin}: the worker token is the first line of stdin, so that it never shows in
 * a process list.
 */
public final class EmbeddedWorkerMain {
    private EmbeddedWorkerMain() {
    }

    private static String firstLineOfStdin() {
        try {
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            if (line == null || line.isBlank()) {
                throw new IllegalArgumentException("--token-stdin: no token on stdin");
            }
            return line.strip();
        } catch (IOException e) {
            throw new IllegalArgumentException("--token-stdin: cannot read stdin: " + e.getMessage());
        }
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true, Charset.defaultCharset());
        PrintWriter err = new PrintWriter(System.err, true, Charset.defaultCharset());
        WorkerConfig config;
        Optional<ProcessHandle> parent = Optional.empty();
        boolean quiet = false;
        try {
            WorkerConfig.Builder b = WorkerConfig.builder();
            boolean coordinator = false;
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("--quiet")) {
                    quiet = true;
                    continue;
                }
                if (flag.equals("--token-stdin")) {
                    b.security(new ChannelSecurity(null, null, null, firstLineOfStdin()));
                    continue;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(flag + " needs a value");
                }
                String value = args[++i];
                switch (flag) {
                    case "--coordinator" -> {
                        b.coordinator(WorkerProcess.target(value));
                        coordinator = true;
                    }
                    case "--id" -> b.workerId(value);
                    case "--slots" -> b.slots(Integer.parseInt(value));
                    case "--deserialization-filter" -> b.deserializationFilter(value);
                    case "--parent-pid" -> {
                        parent = ProcessHandle.of(Long.parseLong(value));
                        if (parent.isEmpty() || !parent.get().isAlive()) {
                            throw new IllegalArgumentException("--parent-pid " + value + " is not running");
                        }
                    }
                    default -> throw new IllegalArgumentException("unknown flag " + flag);
                }
            }
            if (!coordinator) {
                throw new IllegalArgumentException("--coordinator is required");
            }
            config = b.build();
        } catch (IllegalArgumentException e) {
            err.println("cohort worker: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(WorkerProcess.run(config, parent, quiet, out, err));
    }
}
