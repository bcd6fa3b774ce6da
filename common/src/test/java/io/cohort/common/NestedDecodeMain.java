package io.cohort.common;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.SignedObject;
import javax.management.BadAttributeValueExpException;

/**
 * Run in a fresh JVM by {@link JvmFilterFactoryTest}: decodes, with Cohort's worker codec, an
 * envelope whose readObject opens a SignedObject holding a gadget, and prints what happened.
 * With the argument {@code stream-first} the application creates an ObjectInputStream before
 * Cohort's first decode (after which the JVM takes no filter factory).
 */
public final class NestedDecodeMain {
    private NestedDecodeMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("stream-first")) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject("the application's own");
            }
            new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray())).close();
        }
        SignedObject signed = new SignedObject(new BadAttributeValueExpException("inner"),
                KeyPairGenerator.getInstance("EC").generateKeyPair().getPrivate(), Signature.getInstance("SHA256withECDSA"));
        Codec codec = Codec.standard();
        try {
            Object decoded = codec.decode(codec.encode(new JvmFilterFactoryTest.Envelope(signed)),
                    NestedDecodeMain.class.getClassLoader());
            System.out.println("decoded " + ((JvmFilterFactoryTest.Envelope) decoded).opened.getClass().getName());
        } catch (CodecException e) {
            System.out.println("refused " + e.className());
        }
    }
}
