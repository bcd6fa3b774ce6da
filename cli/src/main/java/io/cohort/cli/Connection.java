package io.cohort.cli;

import io.cohort.common.ChannelSecurity;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * How an operator command reaches the coordinator, as the SDK does: its address, the
 * certificates to trust (TLS), a client certificate for mutual TLS, and a token file (the admin
 * token to drain, a client or admin token for the status). A picocli mixin.
 */
public final class Connection {
    @Option(names = "--address", paramLabel = "HOST:PORT",
            description = "The coordinator (default: ${DEFAULT-VALUE}; port " + Protocol.DEFAULT_PORT + " if none).")
    String address = "127.0.0.1:" + Protocol.DEFAULT_PORT;

    @Option(names = "--tls-ca", paramLabel = "PEM", description = "Connect with TLS, trusting these CA certificates.")
    Path tlsCa;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Client certificate for mutual TLS (needs --tls-key, --tls-ca).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key (PKCS#8 PEM) of --tls-cert.")
    Path tlsKey;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "The token to show (the file's content): the admin token, or for status a client token.")
    Path tokenFile;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "How long to wait for the answer, e.g. 10s (default: 10s).")
    Duration timeout = Duration.ofSeconds(10);

    /**
     * Runs {@code call} on an admin stub and returns its exit status: a refused or failed call is
     * said on {@code err} with what to do, and its exit status tells why (see {@link ExitCodes}).
     */
    int call(CommandLine.Model.CommandSpec spec, Function<AdminServiceGrpc.AdminServiceBlockingStub, Integer> call) {
        ManagedChannel channel;
        try {
            channel = new ChannelSecurity(tlsCa, tlsCert, tlsKey, tokenFile == null ? null
                    : ChannelSecurity.readToken(tokenFile)).channelBuilder(target()).build();
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        PrintWriter err = spec.commandLine().getErr();
        try {
            return call.apply(AdminServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS));
        } catch (StatusRuntimeException e) {
            int exit = ExitCodes.of(e);
            String why = e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription();
            err.println("cohort " + spec.name() + ": " + switch (exit) {
                case ExitCodes.CANNOT_CONNECT -> "cannot reach the coordinator at " + target() + " ("
                        + e.getStatus().getCode() + why + ")";
                case ExitCodes.PERMISSION_DENIED -> "refused (" + e.getStatus().getCode() + why + ")";
                default -> e.getStatus().getCode() + why;
            });
            err.flush();
            return exit;
        } finally {
            channel.shutdownNow();
        }
    }

    /** HOST:PORT, with the default port when none is given. */
    String target() {
        String a = address.strip();
        boolean hasPort = a.startsWith("[") ? a.contains("]:") : a.indexOf(':') > 0 && a.indexOf(':') == a.lastIndexOf(':');
        return hasPort ? a : a + ":" + Protocol.DEFAULT_PORT;
    }
}
