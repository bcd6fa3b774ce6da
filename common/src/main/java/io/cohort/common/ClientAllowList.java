package io.cohort.common;

import java.io.ObjectInputFilter;

/**
 * The classes a client decodes without being told: plain values and the JDK's collections of
 * them, records, enums, arrays of these or of primitives, and the exceptions of
 * {@code java.base}. Everything else (an application's own classes, other libraries') a
 * client admits only when its configured pattern names it; an exception refused so reaches
 * the caller as a {@code RemoteTaskException} (class name, message, frames).
 *
 * <p>Why these: records are rebuilt through their canonical constructor and enums by name, so
 * neither runs a {@code readObject}; the JDK classes listed keep only values in their
 * serialized form (each element is checked on its own); a {@code java.base} exception's
 * fields are a message, a cause, frames and suppressed exceptions. The gadget refusals of
 * {@link DeserializationFilter} apply on top. Thread-safe.
 */
final class ClientAllowList {
    /** JDK classes admitted by name ({@code jdk.serialFilter} syntax; an array is admitted by its element class). */
    static final String JDK_CLASSES = String.join(";",
            "java.lang.Boolean", "java.lang.Byte", "java.lang.Character", "java.lang.Short", "java.lang.Integer",
            "java.lang.Long", "java.lang.Float", "java.lang.Double", "java.lang.Number", "java.lang.String",
            "java.lang.String$CaseInsensitiveComparator", "java.lang.StackTraceElement",
            "java.math.BigInteger", "java.math.BigDecimal", "java.math.MathContext",
            "java.util.ArrayList", "java.util.LinkedList", "java.util.ArrayDeque", "java.util.PriorityQueue",
            "java.util.Vector", "java.util.Stack", "java.util.HashMap", "java.util.LinkedHashMap", "java.util.TreeMap",
            "java.util.Hashtable", "java.util.Properties", "java.util.IdentityHashMap", "java.util.EnumMap",
            "java.util.HashSet", "java.util.LinkedHashSet", "java.util.TreeSet", "java.util.EnumSet$SerializationProxy",
            "java.util.RegularEnumSet", "java.util.JumboEnumSet",
            "java.util.BitSet", "java.util.UUID", "java.util.Date", "java.util.Locale", "java.util.Currency",
            "java.util.Map$Entry", "java.util.AbstractMap$SimpleEntry", "java.util.AbstractMap$SimpleImmutableEntry",
            "java.util.Arrays$ArrayList", "java.util.Collections$*", "java.util.CollSer", "java.util.ImmutableCollections$*",
            "java.util.Comparators$*", "java.util.concurrent.**", "java.time.**", "java.net.URI");

    private static final ObjectInputFilter NAMED = ObjectInputFilter.Config.createFilter(JDK_CLASSES);
    private static final Module JAVA_BASE = Object.class.getModule();

    private static final ClassValue<Boolean> ADMITTED = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            Class<?> element = type;
            while (element.isArray()) {
                element = element.getComponentType();
            }
            if (element.isPrimitive() || (element == Object.class && type.isArray())) {
                return true;
            }
            if (element.isRecord() || Enum.class.isAssignableFrom(element)) {
                return true;
            }
            if (Throwable.class.isAssignableFrom(element)) {
                return element.getModule() == JAVA_BASE;
            }
            return NAMED.checkInput(DeserializationFilter.classOnly(element)) == ObjectInputFilter.Status.ALLOWED;
        }
    };

    private ClientAllowList() {}

    /** Whether a client admits {@code type} unasked. */
    static boolean admits(Class<?> type) {
        return ADMITTED.get(type);
    }
}
