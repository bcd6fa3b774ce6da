package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.management.BadAttributeValueExpException;
import org.junit.jupiter.api.Test;

/**
 * A stream opened inside a Cohort decode (here by {@link SignedObject#getObject()}, called from
 * a readObject, as gadget chains do) gets Cohort's filter too; streams outside one are left
 * alone. Whether the JVM still takes the factory depends on what ran before in it, so the
 * install itself is shown in fresh JVMs; the tests in this JVM need it installed (Cohort's
 * codecs install it when they load, before any stream of theirs).
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

    /** Runs {@link NestedDecodeMain} in a JVM of its own; its stdout and stderr. */
    private static String[] freshJvm(List<String> jvmOptions, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), NestedDecodeMain.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        String out = read(p.getInputStream());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the JVM ended");
        assertEquals(0, p.exitValue(), err.get());
        return new String[] {out.strip(), err.get()};
    }

    private static String read(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aFreshJvmGetsTheFactoryAtCohortsFirstDecode() throws Exception {
        String[] run = freshJvm(List.of());
        assertEquals("refused javax.management.BadAttributeValueExpException", run[0], run[1]);
        assertFalse(run[1].contains("cannot install"), run[1]);
    }

    @Test
    void anApplicationThatOpenedAStreamFirstIsWarnedAndCanNameTheFactoryOnTheCommandLine() throws Exception {
        String[] late = freshJvm(List.of(), "stream-first");
        assertEquals("decoded javax.management.BadAttributeValueExpException", late[0], "the JDK takes no factory now");
        assertTrue(late[1].contains("Cohort cannot install its JVM-wide deserialization filter factory")
                && late[1].contains("-Djdk.serialFilterFactory=io.cohort.common.JvmFilterFactory"), late[1]);
        String[] named = freshJvm(List.of("-Djdk.serialFilterFactory=io.cohort.common.JvmFilterFactory"), "stream-first");
        assertEquals("refused javax.management.BadAttributeValueExpException", named[0], named[1]);
        assertFalse(named[1].contains("cannot install"), named[1]);
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
