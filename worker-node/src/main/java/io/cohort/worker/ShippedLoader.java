package io.cohort.worker;

import io.cohort.common.ShippedCode;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

/**
 * Loads a session's shipped classes: child-first, so the client's build of a class wins over
 * one on the worker's class path, except for the JDK, Cohort's API, gRPC and protobuf
 * ({@link ShippedCode#parentFirst}), which must be the worker's own types. One per set of
 * bundles; its classes never change, so two builds of one class live in two loaders.
 */
final class ShippedLoader extends URLClassLoader {
    static {
        registerAsParallelCapable();
    }

    ShippedLoader(String name, URL[] jars, ClassLoader parent) {
        super(name, jars, parent);
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (ShippedCode.parentFirst(name)) {
            return super.loadClass(name, resolve);
        }
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) {
                try {
                    c = findClass(name);
                } catch (ClassNotFoundException e) {
                    c = getParent().loadClass(name);
                }
            }
            if (resolve) {
                resolveClass(c);
            }
            return c;
        }
    }

    @Override
    public URL getResource(String name) {
        if (ShippedCode.parentFirst(name.replace('/', '.'))) {
            return super.getResource(name);
        }
        URL mine = findResource(name);
        return mine != null ? mine : getParent().getResource(name);
    }

    @Override
    public Enumeration<URL> getResources(String name) throws IOException {
        List<URL> all = new ArrayList<>(Collections.list(findResources(name)));
        all.addAll(Collections.list(getParent().getResources(name)));
        return Collections.enumeration(all);
    }
}
