package io.cohort.coordinator;

import java.io.IOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away PKI for tests, written as PEM files: a CA, a server certificate for 127.0.0.1
 * (or the addresses given) and localhost, a client certificate, and a second CA that signed none of them.
 * Shared with the other modules' tests through this module's test jar.
 */
public record TestCertificates(Path caCert, Path serverCert, Path serverKey, Path clientCert, Path clientKey,
                        Path strangerCaCert) {
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    public static TestCertificates create(Path dir) throws IOException, GeneralSecurityException, OperatorCreationException {
        return create(dir, "127.0.0.1");
    }

    /** As {@link #create(Path)}, with the server certificate naming {@code serverIps} (and localhost). */
    public static TestCertificates create(Path dir, String... serverIps)
            throws IOException, GeneralSecurityException, OperatorCreationException {
        KeyPairGenerator keys = KeyPairGenerator.getInstance("EC");
        keys.initialize(256);
        X500Name caName = new X500Name("CN=cohort test CA");
        KeyPair ca = keys.generateKeyPair();
        X509Certificate caCert = sign(caName, ca.getPublic(), caName, ca.getPrivate(), true, null);
        KeyPair server = keys.generateKeyPair();
        GeneralName[] names = new GeneralName[serverIps.length + 1];
        for (int i = 0; i < serverIps.length; i++) {
            names[i] = new GeneralName(GeneralName.iPAddress, serverIps[i]);
        }
        names[serverIps.length] = new GeneralName(GeneralName.dNSName, "localhost");
        GeneralNames serverNames = new GeneralNames(names);
        X509Certificate serverCert = sign(new X500Name("CN=localhost"), server.getPublic(), caName, ca.getPrivate(),
                false, serverNames);
        KeyPair client = keys.generateKeyPair();
        X509Certificate clientCert = sign(new X500Name("CN=cohort test client"), client.getPublic(), caName,
                ca.getPrivate(), false, null);
        KeyPair stranger = keys.generateKeyPair();
        X500Name strangerName = new X500Name("CN=some other CA");
        X509Certificate strangerCert = sign(strangerName, stranger.getPublic(), strangerName, stranger.getPrivate(),
                true, null);
        return new TestCertificates(pem(dir.resolve("ca.pem"), caCert), pem(dir.resolve("server.pem"), serverCert),
                pem(dir.resolve("server-key.pem"), server.getPrivate()), pem(dir.resolve("client.pem"), clientCert),
                pem(dir.resolve("client-key.pem"), client.getPrivate()), pem(dir.resolve("stranger-ca.pem"), strangerCert));
    }

    private static X509Certificate sign(X500Name subject, PublicKey key, X500Name issuer, PrivateKey issuerKey,
                                        boolean isCa, GeneralNames names)
            throws IOException, GeneralSecurityException, OperatorCreationException {
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer,
                BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(1))), subject, key);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        if (isCa) {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        }
        if (names != null) {
            b.addExtension(Extension.subjectAlternativeName, false, names);
        }
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
    }

    private static Path pem(Path file, Object item) throws IOException {
        try (Writer w = Files.newBufferedWriter(file); JcaPEMWriter pem = new JcaPEMWriter(w)) {
            pem.writeObject(item instanceof PrivateKey k ? new JcaPKCS8Generator(k, null) : item);
        }
        return file;
    }
}
