package io.cohort.bench.codec;

import io.cohort.common.Codec;
import io.cohort.common.CodecException;
import io.cohort.common.DeserializationFilter;
import io.cohort.common.JdkCodec;
import io.cohort.common.JvmFilterFactory;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.fory.Fory;
import org.apache.fory.ThreadSafeFory;
import org.apache.fory.config.Language;
import org.apache.fory.logging.LogLevel;
import org.apache.fory.logging.LoggerFactory;
import org.apache.fory.memory.MemoryBuffer;
import org.apache.fory.serializer.Serializer;

/**
 * Apache Fory, under evaluation beside {@link JdkCodec} (not the default: the bench reports
 * both so the choice is made on numbers). It keeps JdkCodec's rules: only {@link Serializable}
 * classes are encoded or decoded, and the class names JdkCodec's filter refuses
 * ({@link DeserializationFilter#GADGET_REFUSALS}' {@code !} patterns) are refused by name before the class
 * is even loaded, on top of Fory's own list of disallowed gadget classes.
 *
 * <p>Thread-safe: Fory keeps one instance per thread.
 */
public final class ForyCodec implements Codec {
    static {
        // Fory logs each class it compiles at INFO and each JDK-serialized class at WARN:
        // noise in a worker's output; errors still show
        LoggerFactory.setLogLevel(LogLevel.ERROR_LEVEL);
        // before Fory creates any ObjectInputStream, after which the JVM takes no factory
        JvmFilterFactory.install();
    }

    private static final ForyCodec STANDARD = new ForyCodec(refusedPatterns(DeserializationFilter.GADGET_REFUSALS));

    private final List<String> refused;
    private final ThreadSafeFory fory;

    /**
     * {@code refused}: class name patterns in {@link java.io.ObjectInputFilter}'s syntax
     * without the {@code !} ({@code a.b.C}, {@code a.b.*} for a package, {@code a.b.**} with
     * its subpackages, {@code a.b.Prefix*}).
     */
    public ForyCodec(List<String> refused) {
        this.refused = List.copyOf(refused);
        this.fory = Fory.builder()
                .withLanguage(Language.JAVA)
                .withRefTracking(true)              // object graphs as JDK serialization sees them
                .requireClassRegistration(false)    // tasks are application classes we cannot list
                .suppressClassRegistrationWarnings(true)   // the checks below stand in for registration
                .buildThreadSafeFory();
        fory.setTypeChecker((resolver, className) -> !isRefused(className));
        fory.setSerializerFactory((f, type) -> {
            if (!Serializable.class.isAssignableFrom(type) && !type.isInterface()) {
                throw new NotSerializable(type.getName());
            }
            return null;   // Fory's own serializer
        });
        // Fory has a built-in serializer for a bare Object, which JDK serialization refuses
        fory.registerSerializer(Object.class, f -> new Serializer<>(f, Object.class) {
            @Override
            public void write(MemoryBuffer buffer, Object value) {
                throw new NotSerializable(Object.class.getName());
            }

            @Override
            public Object read(MemoryBuffer buffer) {
                throw new NotSerializable(Object.class.getName());
            }
        });
    }

    /** With the built-in gadget refusals (a configured pattern does not apply to Fory). */
    public static ForyCodec standard() {
        return STANDARD;
    }

    /** The {@code !} patterns of an ObjectInputFilter pattern string. */
    static List<String> refusedPatterns(String filter) {
        List<String> out = new ArrayList<>();
        for (String part : filter.split(";")) {
            String p = part.strip();
            if (p.startsWith("!")) {
                out.add(p.substring(1));
            }
        }
        return out;
    }

    boolean isRefused(String className) {
        for (String p : refused) {
            if (p.endsWith(".**")) {
                if (className.startsWith(p.substring(0, p.length() - 2))) {
                    return true;
                }
            } else if (p.endsWith(".*")) {
                String pkg = p.substring(0, p.length() - 1);
                if (className.startsWith(pkg) && className.indexOf('.', pkg.length()) < 0) {
                    return true;
                }
            } else if (p.endsWith("*")) {
                if (className.startsWith(p.substring(0, p.length() - 1))) {
                    return true;
                }
            } else if (className.equals(p)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public ByteString encode(Object value) {
        try {
            return UnsafeByteOperations.unsafeWrap(fory.serialize(value));   // the array is ours alone
        } catch (RuntimeException e) {
            NotSerializable ns = find(e, NotSerializable.class);
            if (ns != null) {
                throw new CodecException("not serializable: " + ns.getMessage(), ns.getMessage(), e);
            }
            String name = value == null ? "null" : value.getClass().getName();
            throw new CodecException("cannot encode " + name + ": " + e, name, e);
        }
    }

    @Override
    public Object decode(ByteString bytes, ClassLoader loader) {
        try {
            fory.setClassLoader(loader);
            return fory.deserialize(bytes.toByteArray());
        } catch (RuntimeException | LinkageError e) {
            ClassNotFoundException missing = find(e, ClassNotFoundException.class);
            if (missing != null) {
                throw new CodecException("class not found: " + missing.getMessage(), missing.getMessage(), missing);
            }
            String name = refusedIn(e);
            if (name != null) {
                throw new CodecException("class refused by the codec's filter: " + name, name, e);
            }
            NotSerializable ns = find(e, NotSerializable.class);
            if (ns != null) {
                throw new CodecException("class refused, not serializable: " + ns.getMessage(), ns.getMessage(), e);
            }
            throw new CodecException("cannot decode: " + e, null, e);
        }
    }

    /** The refused class named in Fory's InsecureException chain, if that is what failed. */
    private String refusedIn(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getClass().getSimpleName().equals("InsecureException") && t.getMessage() != null) {
                for (String word : t.getMessage().split("[\\s,;:'\"`]+")) {
                    if (isRefused(word)) {
                        return word;
                    }
                }
                return t.getMessage();
            }
        }
        return null;
    }

    private static <T extends Throwable> T find(Throwable e, Class<T> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    /** Thrown from inside Fory when a class is not Serializable; carries the class name. */
    private static final class NotSerializable extends RuntimeException {
        NotSerializable(String className) {
            super(className, null, false, false);
        }
    }
}
