package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.Serializable;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.SignedObject;
import java.util.concurrent.atomic.AtomicReference;
import javax.management.BadAttributeValueExpException;
import org.junit.jupiter.api.Test;

/**
 * A stream opened inside a Cohort decode (here by {@link SignedObject#getObject()}, called from
 * a readObject, as gadget chains do) gets Cohort's filter too; streams outside one are left alone.
 */
class JvmFilterFactoryTest {
    private final ClassLoader loader = getClass().getClassLoader();

    /** Opens its signed content while it is itself being decoded. */
    static final class Envelope implements Serializable {
        private static final long serialVersionUID = 1L;
        final SignedObject signed;
        transient Object opened;

        Envelope(SignedObject signed) {
            this.signed = signed;
        }

        private void readObject(java.io.ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            opened = signed.getObject();
        }
    }

    private static SignedObject signed(Serializable content) throws Exception {
        KeyPair keys = KeyPairGenerator.getInstance("EC").generateKeyPair();
        return new SignedObject(content, keys.getPrivate(), Signature.getInstance("SHA256withECDSA"));
    }

    private static ByteString encode(Object value) {
        return Codec.standard().encode(value);
    }

    @Test
    void theFactoryIsInPlace() {
        Codec.standard();   // JdkCodec installs it at its first use
        assertTrue(JvmFilterFactory.install(), "installed (or given with -Djdk.serialFilterFactory)");
        assertInstanceOf(JvmFilterFactory.class, ObjectInputFilter.Config.getSerialFilterFactory());
    }

    @Test
    void aGadgetInsideASignedObjectIsRefusedOnAWorker() throws Exception {
        ByteString bytes = encode(new Envelope(signed(new BadAttributeValueExpException("inner"))));
        CodecException e = assertThrows(CodecException.class, () -> Codec.standard().decode(bytes, loader));
        assertEquals("javax.management.BadAttributeValueExpException", e.className());
        assertTrue(e.getMessage().contains("known deserialization gadget"), e.getMessage());
    }

    @Test
    void aClassOffTheClientsAllowListInsideASignedObjectIsRefused() throws Exception {
        // the client's pattern admits the envelope and SignedObject, not what the signed stream holds
        Codec client = Codec.filtered(DeserializationFilter.client(
                "io.cohort.common.JvmFilterFactoryTest$Envelope;java.security.SignedObject"));
        ByteString bytes = encode(new Envelope(signed(new java.text.SimpleDateFormat("yyyy"))));
        CodecException e = assertThrows(CodecException.class, () -> client.decode(bytes, loader));
        assertEquals("java.text.SimpleDateFormat", e.className());
        assertTrue(e.getMessage().contains("client's deserialization filter"), e.getMessage());
        // what the list admits passes through the same nesting
        Envelope ok = (Envelope) client.decode(encode(new Envelope(signed(new java.util.ArrayList<>(java.util.List.of(1L, 2L))))), loader);
        assertEquals(java.util.List.of(1L, 2L), ok.opened);
    }

    @Test
    void streamsOutsideACohortDecodeAreTheApplicationsOwn() throws Exception {
        byte[] bytes = encode(new BadAttributeValueExpException("mine")).toByteArray();
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            assertInstanceOf(BadAttributeValueExpException.class, in.readObject(), "no filter of Cohort's here");
        }
        // nor on another thread while this one decodes: the mark is per thread
        AtomicReference<Object> other = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
                other.set(in.readObject());
            } catch (Exception e) {
                other.set(e);
            }
        });
        ObjectInputFilter outer = JvmFilterFactory.enter(info -> ObjectInputFilter.Status.REJECTED);
        try {
            t.start();
            t.join();
        } finally {
            JvmFilterFactory.exit(outer);
        }
        assertInstanceOf(BadAttributeValueExpException.class, other.get());
    }

    @Test
    void anApplicationsOwnFactoryUnderneathStillDecides() {
        ObjectInputFilter refuseLongs = info -> info.serialClass() == Long.class
                ? ObjectInputFilter.Status.REJECTED : ObjectInputFilter.Status.UNDECIDED;
        JvmFilterFactory factory = new JvmFilterFactory((current, requested) -> refuseLongs);
        ObjectInputFilter cohort = info -> ObjectInputFilter.Status.ALLOWED;
        ObjectInputFilter outer = JvmFilterFactory.enter(cohort);
        try {
            ObjectInputFilter nested = factory.apply(null, null);
            assertEquals(ObjectInputFilter.Status.REJECTED,
                    nested.checkInput(DeserializationFilter.classOnly(Long.class)), "the application's refusal holds");
            assertEquals(ObjectInputFilter.Status.ALLOWED,
                    nested.checkInput(DeserializationFilter.classOnly(String.class)));
            assertEquals(refuseLongs, factory.apply(null, cohort), "Cohort's own stream: as underneath decides");
        } finally {
            JvmFilterFactory.exit(outer);
        }
        assertEquals(refuseLongs, factory.apply(null, null), "outside a decode: as underneath decides");
    }
}
