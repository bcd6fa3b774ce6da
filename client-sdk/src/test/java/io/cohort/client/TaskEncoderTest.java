package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.common.Codec;
import io.cohort.common.Digests;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.FunctionDef;
import org.junit.jupiter.api.Test;

/** The encoder on its own: definitions named by their digest, encoded once while remembered, sent once per stream. */
class TaskEncoderTest {
    private final TaskEncoder encoder = new TaskEncoder(Codec.standard(), new Object());

    @Test
    void aFunctionIsEncodedOnceAndNamedByTheDigestOfItsBody() {
        TaskBody body = x -> x;
        FunctionDef def = encoder.function(body, body);
        assertEquals(Digests.sha256(def.getBody()), def.getDigest());
        assertTrue(encoder.markSent(def), "the first task of a function sends its definition");
        assertSame(def, encoder.function(body, body), "remembered: not encoded again");
        assertFalse(encoder.markSent(def), "sent once per stream");
        assertEquals(1, encoder.kept());
    }

    @Test
    void aNewStreamSendsEachDefinitionAgain() {
        TaskBody body = x -> x;
        FunctionDef def = encoder.function(body, body);
        encoder.markSent(def);
        encoder.forgetSent();
        assertEquals(0, encoder.kept());
        assertTrue(encoder.markSent(def));
    }

    @Test
    void definitionsBeyondTheCapAreForgottenLongestUnusedFirst() {
        FunctionDef first = null;
        for (int i = 0; i <= TaskEncoder.KEPT_FUNCTIONS; i++) {
            int n = i;
            TaskBody body = x -> n;
            FunctionDef def = encoder.function(body, body);
            first = first == null ? def : first;
            assertTrue(encoder.markSent(def), "distinct bodies, distinct digests: " + i);
        }
        assertEquals(TaskEncoder.KEPT_FUNCTIONS, encoder.kept());
        assertTrue(encoder.markSent(first), "the longest unused was forgotten: it is sent again");
    }

    @Test
    void whatCannotBeEncodedIsRefusedNamingTheClass() {
        Object notSerializable = new Object();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> encoder.encodeTask(notSerializable));
        assertTrue(e.getMessage().startsWith("task cannot be sent: "), e.getMessage());
        assertTrue(e.getMessage().contains("java.lang.Object"), e.getMessage());
    }
}
