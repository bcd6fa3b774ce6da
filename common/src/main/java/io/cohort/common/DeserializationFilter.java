package io.cohort.common;

import java.io.ObjectInputFilter;
import java.util.Objects;

/**
 * The one place that builds the {@link ObjectInputFilter} guarding every deserialization
 * (worker daemons, their child JVMs, clients): the built-in refusals of well-known gadget
 * classes, then Cohort's own classes, then the user's pattern, if any, then (on a client) the
 * {@link ClientAllowList}.
 *
 * <p>Order of the decision for each class: a class the {@link #GADGET_REFUSALS} refuse is
 * refused whatever the user's pattern says, and so are graphs over their limits; Cohort's own
 * classes ({@code io.cohort.**}) and {@code java.lang.invoke.SerializedLambda} (what Cohort
 * itself sends around a task) are admitted; the user's pattern ({@code jdk.serialFilter}
 * syntax, e.g. {@code "com.example.**;java.base/*;!*"}) then admits or refuses; a class it does
 * not mention is admitted on a worker (which runs the code it is sent anyway), and on a
 * client only when the {@link ClientAllowList} admits it (plain values, collections of them,
 * records, enums, {@code java.base} exceptions). The user's pattern so never admits a gadget.
 * Its limits ({@code maxdepth}, {@code maxbytes}...) apply on top of the built-in ones.
 *
 * <p>Streams opened while one of these filters decodes (by a class's {@code readObject}, as
 * {@code java.security.SignedObject.getObject()} does) get it too, through the JVM-wide
 * {@link JvmFilterFactory}.
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
    private static final DeserializationFilter STANDARD = new DeserializationFilter(null, null, "", false);
    private static final DeserializationFilter CLIENT = new DeserializationFilter(null, null, CLIENT_SETTING, true);

    private final String pattern;          // null: none
    private final ObjectInputFilter user;  // null: none
    private final String setting;
    /** A client's: a class neither Cohort's own nor named by the pattern must be on the ClientAllowList. */
    private final boolean allowList;

    private DeserializationFilter(String pattern, ObjectInputFilter user, String setting, boolean allowList) {
        this.pattern = pattern;
        this.user = user;
        this.setting = setting;
        this.allowList = allowList;
    }

    /** The built-in refusals alone: what a worker's decodes get unless a pattern is configured. */
    public static DeserializationFilter standard() {
        return STANDARD;
    }

    /**
     * A client's filter: the built-in refusals, Cohort's own classes, the classes {@code pattern}
     * admits (null: none) and the {@link ClientAllowList}; everything else is refused.
     *
     * @throws IllegalArgumentException as {@link #of} does for a bad pattern
     */
    public static DeserializationFilter client(String pattern) {
        if (pattern == null) {
            return CLIENT;
        }
        DeserializationFilter p = of(pattern, CLIENT_SETTING);
        return new DeserializationFilter(p.pattern, p.user, CLIENT_SETTING, true);
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
        return new DeserializationFilter(p, user, setting, false);
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
        Class<?> type = info.serialClass();
        if (user == null && !allowList) {
            return Status.ALLOWED;
        }
        if (type != null && OWN.checkInput(info) == Status.ALLOWED) {
            if (user == null) {
                return Status.ALLOWED;
            }
            // the user's limits still count: asked again with no class, the pattern checks only them
            Info limits = new Info(null, info.arrayLength(), info.depth(), info.references(), info.streamBytes());
            return user.checkInput(limits) == Status.REJECTED ? Status.REJECTED : Status.ALLOWED;
        }
        Status said = user == null ? Status.UNDECIDED : user.checkInput(info);
        if (said != Status.UNDECIDED) {
            return said;
        }
        return !allowList || type == null || ClientAllowList.admits(type) ? Status.ALLOWED : Status.REJECTED;
    }

    /** Whether the built-in refusals refuse this class by its name (limits aside). */
    public static boolean isGadget(Class<?> type) {
        return REFUSALS.checkInput(classOnly(type)) == Status.REJECTED;
    }

    /** A filter question about {@code type} alone, every limit aside. */
    static FilterInfo classOnly(Class<?> type) {
        return new Info(type, -1, 1, 0, 0);
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
                && user.checkInput(classOnly(type)) == Status.REJECTED) {
            return "class " + name + " refused by the deserialization filter \"" + pattern + "\"; to allow it, add \""
                    + name + "\" (or \"" + packagePattern(name) + "\" for its package) before the \"!\" pattern that "
                    + "refuses it, in " + setting;
        }
        if (type != null && allowList && REFUSALS.checkInput(info) != Status.REJECTED
                && (user == null || user.checkInput(classOnly(type)) == Status.UNDECIDED)
                && OWN.checkInput(classOnly(type)) != Status.ALLOWED && !ClientAllowList.admits(type)) {
            name = element(type).getName();
            return "class " + name + " refused by the client's deserialization filter: a client decodes only plain "
                    + "values, collections of them, records, enums, java.base exceptions and the classes it is told "
                    + "to; to allow it, add \"" + name + "\" (or \"" + packagePattern(name) + "\" for its package) to "
                    + setting;
        }
        return (name == null ? "an object graph" : "class " + name) + " refused by the deserialization filter: over "
                + "a limit (depth " + info.depth() + ", references " + info.references() + ", bytes "
                + info.streamBytes() + ", array length " + info.arrayLength() + "; limits: "
                + GADGET_REFUSALS.substring(0, GADGET_REFUSALS.indexOf(";!"))
                + (pattern == null ? "" : " and those of \"" + pattern + "\"") + ")";
    }

    @Override
    public String toString() {
        String base = allowList ? "built-in refusals; client allow-list" : "built-in refusals";
        return pattern == null ? "DeserializationFilter{" + base + "}"
                : "DeserializationFilter{" + base + "; " + pattern + "}";
    }

    /** An array's element class (what a pattern names), else {@code type} itself. */
    private static Class<?> element(Class<?> type) {
        Class<?> e = type;
        while (e.isArray()) {
            e = e.getComponentType();
        }
        return e;
    }

    private static String packagePattern(String className) {
        int dot = className.lastIndexOf('.');
        return dot < 0 ? className : className.substring(0, dot) + ".*";
    }

    /** A filter question asked again with other values (all of FilterInfo's accessors). */
    private record Info(Class<?> serialClass, long arrayLength, long depth, long references, long streamBytes)
            implements FilterInfo {}
}
