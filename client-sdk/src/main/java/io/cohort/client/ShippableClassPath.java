package io.cohort.client;

import io.cohort.common.ShippedCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The class path entries a worker would not already have, shipped by default: every jar and
 * class directory except the JDK's, Cohort's own and its dependencies'. Cohort's and its
 * dependencies' jars are known by their Maven coordinates (every META-INF/maven/GROUP/... in the
 * jar is one of theirs) or by holding no class outside the packages a worker loads
 * parent-first (java., io.cohort., io.grpc., com.google.protobuf.); a directory or jar with an
 * application class is shipped.
 */
final class ShippableClassPath {
    /** Maven groups of Cohort and everything its runtime pulls in: a worker has these. */
    private static final Set<String> WORKER_GROUPS = Set.of("io.cohort", "io.grpc", "com.google.protobuf",
            "com.google.guava", "com.google.errorprone", "com.google.code.findbugs", "com.google.j2objc",
            "com.google.code.gson", "com.google.android", "com.google.api.grpc", "org.checkerframework",
            "org.codehaus.mojo", "io.perfmark", "io.netty", "info.picocli", "org.rocksdb", "org.apache.fory",
            "io.micrometer", "org.hdrhistogram", "org.latencyutils");

    private ShippableClassPath() {}

    static List<Path> entries(String classPath, String separator) {
        List<Path> out = new ArrayList<>();
        Path javaHome = Path.of(System.getProperty("java.home")).toAbsolutePath();
        for (String e : classPath.split(java.util.regex.Pattern.quote(separator))) {
            if (e.isBlank()) {
                continue;
            }
            Path p = Path.of(e).toAbsolutePath().normalize();
            if (!Files.exists(p) || p.startsWith(javaHome)) {
                continue;
            }
            try {
                if (Files.isDirectory(p) ? hasApplicationClass(p) : shippableJar(p)) {
                    out.add(p);
                }
            } catch (IOException ex) {
                // unreadable: the JVM could not load from it either
            }
        }
        return out;
    }

    private static boolean hasApplicationClass(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.anyMatch(f -> applicationClass(dir.relativize(f).toString().replace('\\', '/')));
        }
    }

    private static boolean shippableJar(Path jar) throws IOException {
        if (!jar.getFileName().toString().endsWith(".jar")) {
            return false;
        }
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            boolean application = false;
            boolean workerGroup = false;
            boolean otherGroup = false;
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                String name = en.nextElement().getName();
                if (name.startsWith("META-INF/maven/") && name.endsWith("/pom.properties")) {
                    String[] parts = name.split("/");
                    boolean worker = parts.length > 2 && WORKER_GROUPS.contains(parts[2]);
                    workerGroup |= worker;
                    otherGroup |= !worker;
                }
                application |= applicationClass(name);
            }
            // A fat jar of Cohort alone (say, the examples') is the workers'; one with the application's own too is shipped.
            return application && !(workerGroup && !otherGroup);
        }
    }

    private static boolean applicationClass(String entry) {
        if (!entry.endsWith(".class") || entry.startsWith("META-INF/") || entry.endsWith("module-info.class")) {
            return false;
        }
        return !ShippedCode.parentFirst(entry.substring(0, entry.length() - ".class".length()).replace('/', '.'));
    }
}
