package io.cohort.common;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --tls-ca}, {@code --tls-cert} and {@code --tls-key}: how a command that connects to the
 * coordinator (a worker, {@code cohort status}) trusts it and shows a client certificate. A
 * picocli mixin.
 */
public final class TlsClientOptions {
    @Option(names = "--tls-ca", paramLabel = "PEM", description = "Connect with TLS, trusting these CA certificates.")
    Path tlsCa;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Client certificate for mutual TLS (needs --tls-key, --tls-ca).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key (PKCS#8 PEM) of --tls-cert.")
    Path tlsKey;

    /** These TLS files with {@code token} (may be null); throws IllegalArgumentException on a bad combination. */
    public ChannelSecurity security(String token) {
        return new ChannelSecurity(tlsCa, tlsCert, tlsKey, token);
    }
}
