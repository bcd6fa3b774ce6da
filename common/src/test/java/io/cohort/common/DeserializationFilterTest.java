package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.management.BadAttributeValueExpException;
import org.junit.jupiter.api.Test;

/** The built-in gadget refusals, a configured pattern on top of them, and what a refusal says. */
class DeserializationFilterTest {
    private static final String SETTING = "the test's setting";
    private final Codec plain = Codec.standard();
    private final ClassLoader loader = getClass().getClassLoader();

    private static Codec with(String pattern) {
        return Codec.filtered(DeserializationFilter.of(pattern, SETTING));
    }

    private CodecException refused(Codec codec, Object value) {
        ByteString bytes = plain.encode(value);
        return assertThrows(CodecException.class, () -> codec.decode(bytes, loader));
    }

    @Test
    void theDefaultRefusesAKnownGadgetClassAndSaysSo() {
        CodecException e = refused(Codec.standard(), new BadAttributeValueExpException("x"));
        assertEquals("javax.management.BadAttributeValueExpException", e.className());
        assertTrue(e.getMessage().contains("known deserialization gadget"), e.getMessage());
        assertTrue(DeserializationFilter.isGadget(BadAttributeValueExpException.class));
        // even inside an admitted container
        CodecException nested = refused(Codec.standard(), new ArrayList<>(List.of(new BadAttributeValueExpException("y"))));
        assertEquals("javax.management.BadAttributeValueExpException", nested.className());
    }

    @Test
    void aPatternCannotAdmitAGadget() {
        for (String pattern : new String[] {"javax.management.**;*", "javax.management.BadAttributeValueExpException",
                "*"}) {
            CodecException e = refused(with(pattern), new BadAttributeValueExpException("x"));
            assertEquals("javax.management.BadAttributeValueExpException", e.className(), pattern);
            assertTrue(e.getMessage().contains("whatever the configured pattern"), e.getMessage());
        }
    }

    @Test
    void anAllowListAdmitsWhatItNamesAndRefusesTheRestNamingTheClassAndTheSetting() {
        Codec allow = with("java.util.ArrayList;java.lang.*;!*");
        assertEquals(List.of(1, 2), allow.decode(plain.encode(new ArrayList<>(List.of(1, 2))), loader));
        CodecException e = refused(allow, new HashMap<>(Map.of("k", 1)));
        assertEquals("java.util.HashMap", e.className());
        assertTrue(e.getMessage().contains("java.util.HashMap") && e.getMessage().contains(SETTING)
                && e.getMessage().contains("to allow it"), e.getMessage());
        assertInstanceOf(java.io.InvalidClassException.class, e.getCause());
    }

    @Test
    void aRefusalListNarrowsTheDefault() {
        Codec narrow = with("!java.util.HashMap");
        assertEquals("java.util.HashMap", refused(narrow, new HashMap<>(Map.of("k", 1))).className());
        assertEquals(List.of(3), narrow.decode(plain.encode(new ArrayList<>(List.of(3))), loader),
                "a class the pattern does not mention is admitted");
    }

    @Test
    void cohortsOwnClassesAndLambdasPassAnAllowListThatDoesNotNameThem() throws Exception {
        int offset = 5;
        TaskBody body = x -> (Integer) x + offset;
        TaskBody back = (TaskBody) with("java.lang.*;!*").decode(plain.encode(body), loader);
        assertEquals(12, back.call(7));
    }

    @Test
    void thePatternsLimitsApplyOnTopOfTheBuiltInOnes() {
        List<Object> deep = new ArrayList<>();
        List<Object> inner = deep;
        for (int i = 0; i < 10; i++) {
            List<Object> next = new ArrayList<>();
            inner.add(next);
            inner = next;
        }
        assertEquals(deep, with("maxdepth=100").decode(plain.encode(deep), loader));
        CodecException e = refused(with("maxdepth=4"), deep);
        assertTrue(e.getMessage().contains("over a limit") && e.getMessage().contains("maxdepth=4"), e.getMessage());
    }

    @Test
    void badPatternsFailFastWithTheJdksReason() {
        for (String bad : new String[] {"", "  ", "maxdepth=deep;*", "maxrefs=-;*"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DeserializationFilter.of(bad, SETTING), bad);
            assertTrue(e.getMessage().contains("pattern"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> DeserializationFilter.of(null, SETTING));
    }
}
