package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.net.URLConnection;
import java.net.URLStreamHandler;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which class path local workers get, from the class loaders an application runs in. */
class ApplicationClassPathTest {

    private static List<Path> javaClassPath() {
        List<Path> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            entries.add(Path.of(e).toAbsolutePath());
        }
        return entries;
    }

    @Test
    void aFlatClassPathIsJavaClassPath(@TempDir Path cache) {
        assertEquals(javaClassPath(), ApplicationClassPath.find(ClassLoader.getSystemClassLoader(), cache));
    }

    @Test
    void aLauncherLoaderBelowCohortsAddsItsEntriesAfterItsParents(@TempDir Path tmp) throws Exception {
        // What mvn exec:java and plugin hosts do: the application's jars in a URLClassLoader of their own.
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        Path jar = jar(tmp.resolve("lib.jar"), Map.of("a/A.class", "a"));
        try (URLClassLoader app = new URLClassLoader(new URL[] {classes.toUri().toURL(), jar.toUri().toURL()},
                ClassLoader.getSystemClassLoader())) {
            List<Path> expected = new ArrayList<>(javaClassPath());
            expected.add(classes.toAbsolutePath());
            expected.add(jar.toAbsolutePath());
            assertEquals(expected, ApplicationClassPath.find(app, tmp.resolve("cache")));
        }
    }

    @Test
    void aContextLoaderThatDoesNotSeeCohortGivesCohortsOwnClassPath(@TempDir Path tmp) throws Exception {
        Path jar = jar(tmp.resolve("other.jar"), Map.of("b/B.class", "b"));
        try (URLClassLoader unrelated = new URLClassLoader(new URL[] {jar.toUri().toURL()},
                ClassLoader.getPlatformClassLoader())) {
            assertEquals(javaClassPath(), ApplicationClassPath.find(unrelated, tmp.resolve("cache")));
        }
    }

    @Test
    void aJarNestedInAJarIsCopiedOutByContentAndAClassesDirectoryInAJarIsPacked(@TempDir Path tmp) throws Exception {
        byte[] inner = Files.readAllBytes(jar(tmp.resolve("inner.jar"), Map.of("c/C.class", "inner class")));
        Path app = tmp.resolve("app.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(app))) {
            put(out, "BOOT-INF/lib/inner.jar", inner);
            put(out, "BOOT-INF/classes/app/Main.class", "main".getBytes(StandardCharsets.UTF_8));
            put(out, "BOOT-INF/classes/app/util/Helper.class", "helper".getBytes(StandardCharsets.UTF_8));
            put(out, "org/springframework/boot/loader/Launcher.class", "launcher".getBytes(StandardCharsets.UTF_8));
        }
        Path cache = tmp.resolve("cache");
        String raw = app.toUri().getRawPath();
        // Spring Boot before 3.2 (jar:file:...!/entry!/) and from 3.2 (jar:nested:.../!entry!/).
        for (String url : List.of("jar:file:" + raw + "!/BOOT-INF/lib/inner.jar!/", "jar:nested:" + raw + "/!BOOT-INF/lib/inner.jar!/")) {
            Path copy = ApplicationClassPath.local(new URL(null, url, NO_STREAMS), cache);
            assertArrayEquals(inner, Files.readAllBytes(copy), url);
            assertTrue(copy.startsWith(cache) && copy.getFileName().toString().endsWith("-inner.jar"), copy::toString);
        }
        Path classes = ApplicationClassPath.local(new URL(null, "jar:nested:" + raw + "/!BOOT-INF/classes/!/", NO_STREAMS), cache);
        assertEquals(Map.of("app/Main.class", "main", "app/util/Helper.class", "helper"), contents(classes));
        assertEquals(classes, ApplicationClassPath.local(new URL(null, "jar:nested:" + raw + "/!BOOT-INF/classes/!/",
                NO_STREAMS), cache), "the same bytes are the same copy");
        try (var files = Files.list(cache)) {
            assertEquals(2, files.count(), "one copy per content, no temporary files left");
        }
    }

    /** URLs of schemes this JVM has no handler for (Spring Boot registers its own): parsed, never opened. */
    private static final URLStreamHandler NO_STREAMS = new URLStreamHandler() {
        @Override
        protected URLConnection openConnection(URL u) throws IOException {
            throw new IOException("not opened in this test: " + u);
        }
    };

    private static Path jar(Path file, Map<String, String> entries) throws IOException {
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(file))) {
            for (Map.Entry<String, String> e : new TreeMap<>(entries).entrySet()) {
                put(out, e.getKey(), e.getValue().getBytes(StandardCharsets.UTF_8));
            }
        }
        return file;
    }

    private static void put(JarOutputStream out, String name, byte[] bytes) throws IOException {
        out.putNextEntry(new JarEntry(name));
        out.write(bytes);
        out.closeEntry();
    }

    private static Map<String, String> contents(Path jar) throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (JarFile f = new JarFile(jar.toFile())) {
            for (JarEntry e : java.util.Collections.list(f.entries())) {
                if (!e.isDirectory()) {
                    files.put(e.getName(), new String(f.getInputStream(e).readAllBytes(), StandardCharsets.UTF_8));
                }
            }
        }
        return files;
    }
}
