package io.cohort.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JDK that local worker JVMs run on: this JVM's own, or another installed one
 * ({@link LocalClusterConfig#javaHome()}). Its feature version decides which class-data cache
 * its JVMs can use; its identity keys that cache. Read from the JDK's {@code release} file
 * without starting it. Immutable.
 */
record JavaRuntime(Path home, int feature, String identity) {
    private static final Pattern JAVA_VERSION = Pattern.compile("(?m)^JAVA_VERSION=\"(\\d+)");

    /** The JDK running this JVM. */
    static JavaRuntime current() {
        Path home = Path.of(System.getProperty("java.home"));
        return new JavaRuntime(home, Runtime.version().feature(),
                home + "\u0000" + System.getProperty("java.vm.version") + "\u0000" + modulesStamp(home));
    }

    /**
     * The JDK at {@code home}: its feature version comes from its {@code release} file, 0 when
     * that cannot be read (then no class-data cache is used for it).
     */
    static JavaRuntime of(Path home) {
        Path absolute = home.toAbsolutePath().normalize();
        if (absolute.equals(Path.of(System.getProperty("java.home")).toAbsolutePath().normalize())) {
            return current();
        }
        String release;
        try {
            release = Files.readString(absolute.resolve("release"), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return new JavaRuntime(absolute, 0, absolute.toString());
        }
        Matcher m = JAVA_VERSION.matcher(release);
        int feature = m.find() ? Integer.parseInt(m.group(1)) : 0;
        return new JavaRuntime(absolute, feature, absolute + "\u0000" + release + "\u0000" + modulesStamp(absolute));
    }

    /** The {@code java} launcher of this JDK. */
    Path javaBinary() {
        return home.resolve("bin").resolve("java");
    }

    /** A JDK updated in place keeps its path: the size and time of its class image tell the builds apart. */
    private static String modulesStamp(Path home) {
        Path modules = home.resolve("lib").resolve("modules");
        try {
            return Files.size(modules) + "@" + Files.getLastModifiedTime(modules).toMillis();
        } catch (IOException | RuntimeException e) {
            return "-";
        }
    }
}
