package io.cohort.common;

import java.io.ObjectInputFilter;
import java.util.Objects;

/**
 * The one place that builds the {@link ObjectInputFilter} guarding every deserialization
 * (worker daemons, their child JVMs, clients): the built-in refusals of well-known gadget
 * classes, then Cohort's own classes, then the user's pattern, if any.
 *
 * <p>Order of the decision for each class: a class the {@link #GADGET_REFUSALS} refuse is
 * refused whatever the user's pattern says, and so are graphs over their limits; Cohort's own
 * classes ({@code io.cohort.**}) and {@code java.lang.invoke.SerializedLambda} (what Cohort
 * itself sends around a task) are admitted; the user's pattern ({@code jdk.serialFilter}
 * syntax, e.g. {@code "com.example.**;java.base/*;!*"}) then admits or refuses; a class it does
 * not mention is admitted. The user's pattern can so only refuse more, or admit explicitly
 * what would have been admitted anyway: it never admits a gadget. Its limits
 * ({@code maxdepth}, {@code maxbytes}...) apply on top of the built-in ones.
 *
 * <p>Immutable and thread-safe.
 */
public final class DeserializationFilter implements ObjectInputFilter {
    /**
     * Classes used in well-known deserialization gadget chains, and the graph limits; always
     * applied. Everything else is left to the user's pattern, then admitted (tasks are
     * application classes Cohort cannot list).
     */
    public static final String GADGET_REFUSALS = String.join(";",
            "maxdepth=200",
            "maxrefs=10000000",
            "!org.apache.commons.collections.functors.*",
            "!org.apache.commons.collections4.functors.*",
            "!org.apache.commons.beanutils.BeanComparator",
            "!org.codehaus.groovy.runtime.*",
            "!org.springframework.beans.factory.*",
            "!com.sun.org.apache.xalan.internal.xsltc.trax.*",
            "!org.apache.xalan.xsltc.trax.*",
            "!com.sun.rowset.JdbcRowSetImpl",
            "!javax.management.BadAttributeValueExpException",
            "!java.rmi.server.*",
            "!sun.rmi.*",
            "!bsh.*",
            "!clojure.*",
            "!org.python.*",
            "!com.mchange.v2.c3p0.*");

    /** What Cohort itself puts in the streams it sends, admitted whatever the user's pattern says. */
    static final String COHORT_OWN = "io.cohort.**;java.lang.invoke.SerializedLambda";

    /** Where a worker's filter is set, for error messages. */
    public static final String WORKER_SETTING =
            "the worker's --deserialization-filter (WorkerConfig.Builder.deserializationFilter)";
    /** Where a client's filter is set, for error messages. */
    public static final String CLIENT_SETTING =
            "ClientConfig.Builder.deserializationFilter (LocalClusterConfig.Builder.deserializationFilter for Cohort.local)";

    private static final ObjectInputFilter REFUSALS = ObjectInputFilter.Config.createFilter(GADGET_REFUSALS);
    private static final ObjectInputFilter OWN = ObjectInputFilter.Config.createFilter(COHORT_OWN);
    private static final DeserializationFilter STANDARD = new DeserializationFilter(null, null, "");

    private final String pattern;          // null: none
    private final ObjectInputFilter user;  // null: none
    private final String setting;

    private DeserializationFilter(String pattern, ObjectInputFilter user, String setting) {
        this.pattern = pattern;
        this.user = user;
        this.setting = setting;
    }

    /** The built-in refusals alone: what every decode gets unless a pattern is configured. */
    public static DeserializationFilter standard() {
        return STANDARD;
    }

    /**
     * The built-in refusals plus {@code pattern}. {@code setting} names where the pattern is
     * configured ("the worker's --deserialization-filter"), for the message of a refusal.
     *
     * @throws IllegalArgumentException when the pattern is blank or not in
     *     {@code ObjectInputFilter.Config.createFilter}'s syntax, with the JDK's reason
     */
    public static DeserializationFilter of(String pattern, String setting) {
        Objects.requireNonNull(setting, "setting");
        if (pattern == null || pattern.isBlank()) {
            throw new IllegalArgumentException("deserialization filter must be a non-blank pattern such as "
                    + "\"com.example.**;java.base/*;!*\", was \"" + pattern + "\"");
        }
        String p = pattern.strip();
        ObjectInputFilter user;
        try {
            user = ObjectInputFilter.Config.createFilter(p);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("deserialization filter \"" + p + "\" is not a valid "
                    + "ObjectInputFilter pattern: " + e.getMessage(), e);
        }
        return new DeserializationFilter(p, user, setting);
    }

    /** The user's pattern; null for {@link #standard()}. */
    public String pattern() {
        return pattern;
    }

    @Override
    public Status checkInput(FilterInfo info) {
        if (REFUSALS.checkInput(info) == Status.REJECTED) {
            return Status.REJECTED;
        }
        if (user == null) {
            return Status.ALLOWED;
        }
        if (info.serialClass() != null && OWN.checkInput(info) == Status.ALLOWED) {
            // the user's limits still count: asked again with no class, the pattern checks only them
            Info limits = new Info(null, info.arrayLength(), info.depth(), info.references(), info.streamBytes());
            return user.checkInput(limits) == Status.REJECTED ? Status.REJECTED : Status.ALLOWED;
        }
        return user.checkInput(info) == Status.REJECTED ? Status.REJECTED : Status.ALLOWED;
    }

    /** Whether the built-in refusals refuse this class by its name (limits aside). */
    public static boolean isGadget(Class<?> type) {
        return REFUSALS.checkInput(new Info(type, -1, 1, 0, 0)) == Status.REJECTED;
    }

    /**
     * Why this filter refuses what {@code info} describes, for the message of the refusal: a
     * gadget is refused always; a class refused by the user's pattern is named with where to
     * admit it; otherwise the graph is over a limit.
     */
    public String explain(FilterInfo info) {
        Class<?> type = info.serialClass();
        String name = type == null ? null : type.getName();
        if (type != null && isGadget(type)) {
            return "class " + name + " refused by the deserialization filter: it is a known deserialization gadget, "
                    + "refused whatever the configured pattern";
        }
        if (type != null && user != null && REFUSALS.checkInput(info) != Status.REJECTED
                && user.checkInput(new Info(type, -1, 1, 0, 0)) == Status.REJECTED) {
            return "class " + name + " refused by the deserialization filter \"" + pattern + "\"; to allow it, add \""
                    + name + "\" (or \"" + packagePattern(name) + "\" for its package) before the \"!\" pattern that "
                    + "refuses it, in " + setting;
        }
        return (name == null ? "an object graph" : "class " + name) + " refused by the deserialization filter: over "
                + "a limit (depth " + info.depth() + ", references " + info.references() + ", bytes "
                + info.streamBytes() + ", array length " + info.arrayLength() + "; limits: "
                + GADGET_REFUSALS.substring(0, GADGET_REFUSALS.indexOf(";!"))
                + (pattern == null ? "" : " and those of \"" + pattern + "\"") + ")";
    }

    @Override
    public String toString() {
        return pattern == null ? "DeserializationFilter{built-in refusals}"
                : "DeserializationFilter{built-in refusals; " + pattern + "}";
    }

    private static String packagePattern(String className) {
        int dot = className.lastIndexOf('.');
        return dot < 0 ? className : className.substring(0, dot) + ".*";
    }

    /** A filter question asked again with other values (all of FilterInfo's accessors). */
    private record Info(Class<?> serialClass, long arrayLength, long depth, long references, long streamBytes)
            implements FilterInfo {}
}
