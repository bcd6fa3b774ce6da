package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.common.ShippedCode;
import io.cohort.proto.v1.ClassFingerprint;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.lang.invoke.SerializedLambda;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The SHA-256 of the class files of the application classes a task uses: the task's own class
 * (a lambda's capturing class) and every class named in its serialized form, so a worker can
 * refuse to run a different build. Computed once per task class (from its first instance) and
 * remembered. Thread-safe.
 */
final class ClassFingerprints {
    private final Map<Class<?>, List<ClassFingerprint>> known = new java.util.WeakHashMap<>();

    /** The fingerprints of the application classes {@code task} uses. */
    List<ClassFingerprint> of(Object task) {
        Class<?> type = task.getClass();
        synchronized (known) {
            List<ClassFingerprint> f = known.get(type);
            if (f != null) {
                return f;
            }
        }
        List<ClassFingerprint> f = compute(task);
        synchronized (known) {
            known.put(type, f);
        }
        return f;
    }

    private static List<ClassFingerprint> compute(Object task) {
        Map<String, ClassLoader> classes = new LinkedHashMap<>();
        try (Recorder r = new Recorder(classes, task.getClass().getClassLoader())) {
            r.writeObject(task);
        } catch (IOException | RuntimeException e) {
            // not serializable: the encode that follows says so, naming the class
        }
        List<ClassFingerprint> out = new ArrayList<>();
        for (Map.Entry<String, ClassLoader> c : classes.entrySet()) {
            if (c.getValue() == null) {
                continue;
            }
            try (InputStream in = c.getValue().getResourceAsStream(ShippedCode.resourceName(c.getKey()))) {
                if (in != null) {
                    out.add(ClassFingerprint.newBuilder().setName(c.getKey()).setSha256(ShippedCode.sha256(in)).build());
                }
            } catch (IOException e) {
                // unreadable here: nothing to compare against
            }
        }
        return List.copyOf(out);
    }

    /** Serializes to nowhere, noting every application class on the way. */
    private static final class Recorder extends ObjectOutputStream {
        private final Map<String, ClassLoader> classes;
        /** Where a lambda's capturing class is found: the loader of the task's (hidden) class. */
        private final ClassLoader root;

        Recorder(Map<String, ClassLoader> classes, ClassLoader root) throws IOException {
            super(OutputStream.nullOutputStream());
            this.classes = classes;
            this.root = root;
            enableReplaceObject(true);
        }

        @Override
        protected Object replaceObject(Object obj) {
            if (obj instanceof SerializedLambda l) {
                note(l.getCapturingClass().replace('/', '.'), root);
                note(l.getImplClass().replace('/', '.'), root);
            } else if (obj != null) {
                for (Class<?> c = obj.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
                    while (c.isArray()) {
                        c = c.getComponentType();
                    }
                    if (c.isPrimitive()) {
                        break;
                    }
                    note(c.getName(), c.getClassLoader());
                }
            }
            return obj;
        }

        @Override
        protected void annotateClass(Class<?> cl) {
            note(cl.getName(), cl.getClassLoader());
        }

        /** Application classes only: not the JDK's (no loader, or the platform's), nor those a worker takes parent-first. */
        private void note(String name, ClassLoader loader) {
            if (loader == null || loader == ClassLoader.getPlatformClassLoader() || ShippedCode.parentFirst(name)
                    || name.contains("$$Lambda")) {
                return;
            }
            classes.putIfAbsent(name, loader);
        }
    }
}
