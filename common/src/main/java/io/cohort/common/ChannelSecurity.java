package io.cohort.common;

import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * How a client or worker reaches the coordinator: TLS trusting {@code trustCertificates} (with
 * {@code certificate}/{@code key} for mutual TLS), and a bearer token naming its role. Each part
 * is optional; with none the channel is plaintext, which only a loopback coordinator accepts.
 */
public record ChannelSecurity(Path trustCertificates, Path certificate, Path key, String token) {
    /** The metadata key carrying "Bearer TOKEN". */
    public static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    public static final ChannelSecurity PLAINTEXT = new ChannelSecurity(null, null, null, null);

    public ChannelSecurity {
        if ((certificate == null) != (key == null)) {
            throw new IllegalArgumentException("a client certificate needs its key, and a key its certificate");
        }
        if (certificate != null && trustCertificates == null) {
            throw new IllegalArgumentException("a client certificate (mutual TLS) needs TLS: give the certificates to trust");
        }
        if (token != null && token.isBlank()) {
            throw new IllegalArgumentException("the token must not be blank");
        }
    }

    public boolean tls() {
        return trustCertificates != null;
    }

    public Optional<String> tokenValue() {
        return Optional.ofNullable(token);
    }

    /**
     * A channel builder for {@code target} with this security and the protocol's flow-control
     * window applied. A token about to travel in plaintext beyond loopback is logged as a warning.
     */
    public NettyChannelBuilder channelBuilder(String target) {
        String exposed = exposesToken(target);
        if (exposed != null) {
            System.getLogger(ChannelSecurity.class.getName()).log(System.Logger.Level.WARNING, exposed);
        }
        return NettyChannelBuilder.forTarget(target, credentials()).flowControlWindow(Protocol.FLOW_CONTROL_WINDOW);
    }

    private ChannelCredentials credentials() {
        ChannelCredentials transport;
        if (tls()) {
            try {
                TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder()
                        .trustManager(trustCertificates.toFile());
                if (certificate != null) {
                    b.keyManager(certificate.toFile(), key.toFile());
                }
                transport = b.build();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the TLS files " + this, e);
            }
        } else {
            transport = InsecureChannelCredentials.create();
        }
        return token == null ? transport : CompositeChannelCredentials.create(transport, bearer(token));
    }

    private static CallCredentials bearer(String token) {
        return new CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
                Metadata headers = new Metadata();
                headers.put(AUTHORIZATION, "Bearer " + token);
                applier.apply(headers);
            }
        };
    }

    /**
     * Why a channel to {@code target} would give its token away: a token over plaintext to a host
     * that is not loopback (only a coordinator started with --insecure accepts that); null when
     * it would not.
     */
    String exposesToken(String target) {
        if (token == null || tls()) {
            return null;
        }
        String host = target.startsWith("[") ? target.substring(1, Math.max(1, target.indexOf(']')))
                : target.lastIndexOf(':') > 0 ? target.substring(0, target.lastIndexOf(':')) : target;
        try {
            for (java.net.InetAddress a : java.net.InetAddress.getAllByName(host)) {
                if (!a.isLoopbackAddress()) {
                    return "the token for " + target + " travels in plaintext: anyone on the way can read it and use"
                            + " it; give the coordinator TLS (and this side the certificates to trust)";
                }
            }
            return null;
        } catch (java.net.UnknownHostException e) {
            return null;   // the connection fails anyway, and says why
        }
    }

    /**
     * Reads a token from a file (trimmed), so that it never shows in a process list. The file
     * must be its owner's alone (as ssh asks of a key): one group or others may read is refused.
     */
    public static String readToken(Path file) {
        try {
            try {
                java.util.Set<java.nio.file.attribute.PosixFilePermission> perms = Files.getPosixFilePermissions(file);
                perms.removeAll(java.util.EnumSet.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE,
                        java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE));
                if (!perms.isEmpty()) {
                    throw new IllegalArgumentException("token file " + file + " is open to other users ("
                            + java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file))
                            + "): whoever reads it can act in its role; make it yours alone (chmod 600 " + file + ")");
                }
            } catch (UnsupportedOperationException notPosix) {
                // no POSIX permissions to check (e.g. Windows): its ACLs are the owner's business
            }
            String token = Files.readString(file).trim();
            if (token.isEmpty()) {
                throw new IllegalArgumentException("token file " + file + " is empty");
            }
            return token;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read token file " + file, e);
        }
    }

    @Override
    public String toString() {
        return "ChannelSecurity[tls=" + tls() + ", trust=" + trustCertificates + ", certificate=" + certificate
                + ", token=" + (token == null ? "none" : "set") + "]";
    }
}
