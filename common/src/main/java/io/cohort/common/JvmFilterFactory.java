package io.cohort.common;

import java.io.ObjectInputFilter;
import java.util.Objects;
import java.util.function.BinaryOperator;

/**
 * The JVM-wide deserialization filter factory ({@code ObjectInputFilter.Config.setSerialFilterFactory})
 * that makes Cohort's filter reach streams opened while Cohort decodes: a class's
 * {@code readObject} may open an {@code ObjectInputStream} of its own (as
 * {@code java.security.SignedObject.getObject()} does), which a per-stream filter never sees.
 *
 * <p>While {@link JdkCodec} decodes on a thread, every stream created on that thread gets
 * Cohort's filter merged with what the factory underneath gives it (the JVM's
 * {@code jdk.serialFilter}, or an application's own factory): either may refuse. Cohort's own
 * stream keeps Cohort's filter alone, as before. Streams created on other threads, or outside a
 * Cohort decode, get exactly what the factory underneath gives them: the application's own
 * deserialization is not changed.
 *
 * <p>The JDK lets a JVM set its factory once, and not after any {@code ObjectInputStream} has
 * been created; {@link #install()} tries once, at Cohort's first decode, over the factory in
 * place (the JDK's built-in one unless the application set its own), and logs a warning if it
 * cannot. An application that creates streams earlier, or sets a factory of its own, can
 * install this one itself: {@code -Djdk.serialFilterFactory=io.cohort.common.JvmFilterFactory}
 * on the command line, or {@code ObjectInputFilter.Config.setSerialFilterFactory(new
 * JvmFilterFactory(itsOwnFactory))} before its first stream. Thread-safe.
 */
public final class JvmFilterFactory implements BinaryOperator<ObjectInputFilter> {
    private static final System.Logger LOG = System.getLogger(JvmFilterFactory.class.getName());
    /** The filter of the Cohort decode running on this thread; null when none is. */
    private static final ThreadLocal<ObjectInputFilter> DECODING = new ThreadLocal<>();

    private final BinaryOperator<ObjectInputFilter> underneath;

    /** Over the JDK's own behaviour (a stream's filter is the one last asked for): what the system property makes. */
    public JvmFilterFactory() {
        this((current, requested) -> requested);
    }

    /** Over {@code underneath}, which decides every stream's filter before Cohort's is merged in. */
    public JvmFilterFactory(BinaryOperator<ObjectInputFilter> underneath) {
        this.underneath = Objects.requireNonNull(underneath, "underneath");
    }

    @Override
    public ObjectInputFilter apply(ObjectInputFilter current, ObjectInputFilter requested) {
        ObjectInputFilter next = underneath.apply(current, requested);
        ObjectInputFilter cohort = DECODING.get();
        if (cohort == null || requested == cohort || next == cohort) {
            return next;   // not inside a Cohort decode, or Cohort's own stream taking its filter
        }
        return next == null ? cohort : ObjectInputFilter.merge(cohort, next);
    }

    /**
     * Installs the factory unless done; true when it is in place (then nested streams are
     * filtered). Tries once per JVM (per loading of this class).
     */
    public static boolean install() {
        return Installed.IN_PLACE;
    }

    private static final class Installed {
        static final boolean IN_PLACE = tryInstall();

        private static boolean tryInstall() {
            BinaryOperator<ObjectInputFilter> existing = ObjectInputFilter.Config.getSerialFilterFactory();
            if (existing instanceof JvmFilterFactory) {
                return true;   // -Djdk.serialFilterFactory, or the application installed it
            }
            try {
                ObjectInputFilter.Config.setSerialFilterFactory(new JvmFilterFactory(existing));
                return true;
            } catch (IllegalStateException | SecurityException e) {
                LOG.log(System.Logger.Level.WARNING, "Cohort cannot install its JVM-wide deserialization filter "
                        + "factory (" + e.getMessage() + "): streams opened inside a Cohort decode (by a class's "
                        + "readObject) get only this JVM's own filters. Start the JVM with "
                        + "-Djdk.serialFilterFactory=" + JvmFilterFactory.class.getName() + ", or install "
                        + "new JvmFilterFactory(yourFactory) before the first ObjectInputStream is created");
                return false;
            }
        }
    }

    /** Marks the current thread as decoding with {@code filter}; returns what to restore with {@link #exit}. */
    static ObjectInputFilter enter(ObjectInputFilter filter) {
        ObjectInputFilter outer = DECODING.get();
        DECODING.set(filter);
        return outer;
    }

    /** Ends the decode {@link #enter} began, restoring the decode it was nested in, if any. */
    static void exit(ObjectInputFilter outer) {
        if (outer == null) {
            DECODING.remove();
        } else {
            DECODING.set(outer);
        }
    }
}
