package io.cohort.client;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;

/**
 * The class path a local worker JVM needs: what loads this application's classes and Cohort's,
 * found at run time. {@code java.class.path} alone is not it under launchers that load the
 * application in a class loader of their own: {@code mvn exec:java} (a URLClassLoader over the
 * project's jars, inside Maven's JVM) or a Spring Boot jar (jars nested in the application's
 * jar, which a plain JVM cannot read; they are copied out into the cache directory).
 *
 * <p>Walks from the thread's context class loader up to the loader of Cohort's own classes,
 * parents first: the system loader gives {@code java.class.path}; a URLClassLoader its URLs.
 */
final class ApplicationClassPath {
    private static final System.Logger LOG = System.getLogger(ApplicationClassPath.class.getName());

    private ApplicationClassPath() {}

    /** The entries for {@code context} (the application's loader; null for Cohort's), nested jars copied out under {@code cache}. */
    static List<Path> find(ClassLoader context, Path cache) {
        ClassLoader cohort = ApplicationClassPath.class.getClassLoader();
        List<ClassLoader> chain = new ArrayList<>();
        for (ClassLoader l = context; l != null; l = l.getParent()) {
            chain.add(l);
            if (l == cohort) {
                break;
            }
        }
        if (chain.isEmpty() || chain.get(chain.size() - 1) != cohort) {
            chain = List.of(cohort);   // a context loader that does not see Cohort's: Cohort's own is what matters
        } else {
            Collections.reverse(chain);   // parents first, as they are searched
        }
        Set<Path> entries = new LinkedHashSet<>();
        for (ClassLoader l : chain) {
            if (l == ClassLoader.getSystemClassLoader()) {
                for (String e : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
                    if (!e.isBlank()) {
                        entries.add(Path.of(e).toAbsolutePath());
                    }
                }
            } else if (l instanceof URLClassLoader u) {
                for (URL url : u.getURLs()) {
                    Path p = local(url, cache);
                    if (p != null) {
                        entries.add(p);
                    }
                }
            } else if (l == cohort) {
                // A loader that does not list its URLs: at least the jar or directory of Cohort's classes.
                URL own = ApplicationClassPath.class.getProtectionDomain().getCodeSource().getLocation();
                Path p = own == null ? null : local(own, cache);
                if (p != null) {
                    entries.add(p);
                }
            }
        }
        return List.copyOf(entries);
    }

    /** A file for {@code url}: itself, or for an entry nested in a jar, a copy of it in {@code cache}; null when neither. */
    static Path local(URL url, Path cache) {
        try {
            switch (url.getProtocol()) {
                case "file":
                    return Path.of(url.toURI()).toAbsolutePath();
                case "jar":
                    return nested(url.toString().substring("jar:".length()), cache);
                default:
                    LOG.log(System.Logger.Level.WARNING, "a local worker's class path leaves out " + url
                            + ": not a file (set LocalClusterConfig.classPath to give the class path yourself)");
                    return null;
            }
        } catch (URISyntaxException | IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "a local worker's class path leaves out " + url + ": " + e.getMessage());
            return null;
        }
    }

    /**
     * An entry of a jar, named as {@code file:/app.jar!/BOOT-INF/lib/x.jar!/} or Spring Boot
     * 3.2's {@code nested:/app.jar/!BOOT-INF/lib/x.jar!/}: a nested jar is copied out as it is,
     * a directory inside the jar ({@code BOOT-INF/classes/}) packed into a jar of its own.
     */
    private static Path nested(String spec, Path cache) throws URISyntaxException {
        String s = spec.endsWith("!/") ? spec.substring(0, spec.length() - 2) : spec;
        String outer;
        String entry;
        if (s.startsWith("nested:")) {
            int sep = s.indexOf("/!");
            if (sep < 0) {
                throw new IllegalArgumentException("no entry named in " + spec);
            }
            outer = new URI("file:" + s.substring("nested:".length(), sep)).getPath();   // a raw path, '!' as %21
            entry = s.substring(sep + 2);
        } else if (s.startsWith("file:")) {
            int sep = s.indexOf("!/");
            if (sep < 0) {
                return Path.of(new URI(s)).toAbsolutePath();   // jar:file:/x.jar!/ is the jar itself
            }
            outer = Path.of(new URI(s.substring(0, sep))).toString();
            entry = s.substring(sep + 2);
        } else {
            throw new IllegalArgumentException("not a jar in a file");
        }
        if (entry.isEmpty()) {
            return Path.of(outer).toAbsolutePath();
        }
        try (JarFile jar = new JarFile(outer)) {
            return entry.endsWith("/") ? packDirectory(jar, entry, cache) : copyEntry(jar, entry, cache);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + entry + " out of " + outer + " for the local workers", e);
        }
    }

    private static Path copyEntry(JarFile jar, String name, Path cache) throws IOException {
        JarEntry e = jar.getJarEntry(name);
        if (e == null) {
            throw new IOException("no entry " + name);
        }
        Path tmp = temp(cache);
        try (InputStream in = jar.getInputStream(e)) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        return byContent(tmp, Path.of(name).getFileName().toString(), cache);
    }

    private static Path packDirectory(JarFile jar, String prefix, Path cache) throws IOException {
        Path tmp = temp(cache);
        List<JarEntry> under = new ArrayList<>();
        for (Enumeration<JarEntry> all = jar.entries(); all.hasMoreElements();) {
            JarEntry e = all.nextElement();
            if (e.getName().startsWith(prefix) && e.getName().length() > prefix.length()) {
                under.add(e);
            }
        }
        under.sort((a, b) -> a.getName().compareTo(b.getName()));   // the same bytes, so the same name, each time
        try (OutputStream file = Files.newOutputStream(tmp); JarOutputStream out = new JarOutputStream(file)) {
            for (JarEntry e : under) {
                JarEntry copy = new JarEntry(e.getName().substring(prefix.length()));
                copy.setTime(0);
                out.putNextEntry(copy);
                if (!e.isDirectory()) {
                    try (InputStream in = jar.getInputStream(e)) {
                        in.transferTo(out);
                    }
                }
                out.closeEntry();
            }
        }
        String base = prefix.substring(0, prefix.length() - 1).replace('/', '-');
        return byContent(tmp, base + ".jar", cache);
    }

    private static Path temp(Path cache) throws IOException {
        Files.createDirectories(cache);
        return Files.createTempFile(cache, "copy-", ".tmp");
    }

    /** Moves {@code tmp} to a name made of its content's hash, so that a changed jar never reuses an old copy. */
    private static Path byContent(Path tmp, String name, Path cache) throws IOException {
        Path target = cache.resolve(sha256(tmp).substring(0, 16) + "-" + name);
        if (Files.exists(target)) {
            Files.delete(tmp);
        } else {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        }
        return target.toAbsolutePath();
    }

    private static String sha256(Path file) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = in.read(buf)) > 0;) {
                    md.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
