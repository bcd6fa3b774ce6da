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

    /** A channel builder for {@code target} with this security and the protocol's flow-control window applied. */
    public NettyChannelBuilder channelBuilder(String target) {
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

    /** Reads a token from a file (trimmed), so that it never shows in a process list. */
    public static String readToken(Path file) {
        try {
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
