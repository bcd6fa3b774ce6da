package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Cohort.local} from an application started the ways applications are: by
 * {@code mvn exec:java} in a project of its own, and as a Spring Boot jar. Under both,
 * {@code java.class.path} does not hold Cohort's classes, and a worker JVM started with it could
 * not even find its main class.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LaunchersTest {
    /** A task whose class is the application's own: the workers must load it too. */
    private static final String MAIN = """
            package app;

            import io.cohort.client.*;
            import java.nio.file.Path;
            import java.util.List;

            public class Main {
                public static void main(String[] args) throws Exception {
                    LocalClusterConfig config = LocalClusterConfig.builder().workers(2).classDataSharing(false)
                            .cacheDirectory(Path.of(args[0])).build();
                    try (CohortExecutor ex = Cohort.local(config)) {
                        System.out.println("answer=" + ex.submit(() -> 6 * 7).get());
                        System.out.println("squares=" + ex.map((Integer x) -> x * x, List.of(1, 2, 3)).toList());
                    }
                }
            }
            """;

    /** Class path entries an application using the SDK does not need (test tooling, the journal's native library). */
    private static final List<String> NOT_NEEDED = List.of("junit", "opentest4j", "apiguardian", "surefire",
            "bcprov", "bcpkix", "bcutil", "rocksdbjni", "spring-boot-loader", "test-classes", "grpc-testing", "jqwik");

    @Test
    void localWorksInASpringBootJar(@TempDir Path tmp) throws Exception {
        Path app = tmp.resolve("app.jar");
        Path classes = compileMain(tmp);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(app), bootManifest())) {
            copyLoader(out);
            for (String dir : List.of("BOOT-INF/", "BOOT-INF/classes/", "BOOT-INF/lib/")) {
                put(out, dir, new byte[0], false);   // Boot finds its class directory by this entry
            }
            try (Stream<Path> files = Files.walk(classes)) {
                for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                    put(out, "BOOT-INF/classes/" + classes.relativize(f).toString().replace(File.separatorChar, '/'),
                            Files.readAllBytes(f), false);
                }
            }
            for (Path jar : neededJars(tmp.resolve("packed"))) {
                put(out, "BOOT-INF/lib/" + jar.getFileName(), Files.readAllBytes(jar), true);   // stored, as Boot requires
            }
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        assertAnswers(run(tmp, List.of(java, "-jar", app.toString(), tmp.resolve("cache").toString())));
    }

    @Test
    void localWorksUnderMvnExecJava(@TempDir Path tmp) throws Exception {
        Path project = Files.createDirectories(tmp.resolve("project"));
        Path sources = Files.createDirectories(project.resolve("src/main/java/app"));
        Files.writeString(sources.resolve("Main.java"), MAIN);
        StringBuilder deps = new StringBuilder();
        int n = 0;
        for (Path jar : neededJars(tmp.resolve("packed"))) {
            deps.append("<dependency><groupId>local</groupId><artifactId>dep-").append(n++)
                    .append("</artifactId><version>1</version><scope>system</scope><systemPath>").append(jar)
                    .append("</systemPath></dependency>\n");
        }
        Files.writeString(project.resolve("pom.xml"), """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <modelVersion>4.0.0</modelVersion>
                  <groupId>app</groupId><artifactId>app</artifactId><version>1</version>
                  <properties>
                    <maven.compiler.release>17</maven.compiler.release>
                    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
                  </properties>
                  <dependencies>
                %s  </dependencies>
                  <build><plugins>
                    <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.16.0</version></plugin>
                    <plugin><artifactId>maven-resources-plugin</artifactId><version>3.5.0</version></plugin>
                  </plugins></build>
                </project>
                """.formatted(deps));
        Path mvnw = Path.of("..", "mvnw").toAbsolutePath().normalize();
        assertTrue(Files.isExecutable(mvnw), "the build's Maven wrapper at " + mvnw);
        // exec:java runs Main inside Maven's JVM, in a class loader of the project's jars.
        assertAnswers(run(project, List.of(mvnw.toString(), "-B", "-q", "-ntp", "compile",
                "org.codehaus.mojo:exec-maven-plugin:3.6.4:java", "-Dexec.mainClass=app.Main",
                "-Dexec.classpathScope=compile", "-Dexec.args=" + tmp.resolve("cache"))));
    }

    private static void assertAnswers(String output) {
        assertTrue(output.contains("answer=42"), output);
        assertTrue(output.contains("squares=[1, 4, 9]"), output);
    }

    private static String run(Path dir, List<String> command) throws Exception {
        Path log = Files.createTempFile(dir, "run-", ".log");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        try {
            boolean ended = p.waitFor(200, TimeUnit.SECONDS);
            String output = Files.readString(log);
            assertTrue(ended, "still running after 200 s: " + command + "\n" + output);
            assertEquals(0, p.exitValue(), command + "\n" + output);
            return output;
        } finally {
            p.destroyForcibly();
        }
    }

    private static Path compileMain(Path tmp) throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src/app"));
        Files.writeString(src.resolve("Main.java"), MAIN);
        Path out = Files.createDirectories(tmp.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int status = javac.run(null, null, null, "--release", "17", "-cp", System.getProperty("java.class.path"),
                "-d", out.toString(), src.resolve("Main.java").toString());
        assertEquals(0, status, "the application compiles");
        return out;
    }

    /** The test's class path as jars, without what the application does not need: class directories packed. */
    private static List<Path> neededJars(Path packed) throws IOException {
        Files.createDirectories(packed);
        List<Path> jars = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(e).toAbsolutePath();
            if (e.isBlank() || NOT_NEEDED.stream().anyMatch(p.toString()::contains)) {
                continue;
            }
            if (Files.isDirectory(p)) {
                Path jar = packed.resolve(p.getParent().getParent().getFileName() + "-" + jars.size() + ".jar");
                try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
                     Stream<Path> files = Files.walk(p)) {
                    for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                        put(out, p.relativize(f).toString().replace(File.separatorChar, '/'), Files.readAllBytes(f), false);
                    }
                }
                jars.add(jar);
            } else if (Files.isRegularFile(p)) {
                jars.add(p);
            }
        }
        return jars;
    }

    private static Manifest bootManifest() {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "org.springframework.boot.loader.launch.JarLauncher");
        m.getMainAttributes().putValue("Start-Class", "app.Main");
        return m;
    }

    /** Spring Boot's launcher classes, from its loader jar on this test's class path. */
    private static void copyLoader(JarOutputStream out) throws IOException {
        String loader = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> e.contains("spring-boot-loader")).findFirst()
                .orElseThrow(() -> new IllegalStateException("spring-boot-loader is a test dependency"));
        try (JarFile jar = new JarFile(loader)) {
            for (JarEntry e : Collections.list(jar.entries())) {
                if (e.getName().startsWith("org/springframework/boot/loader/") && !e.isDirectory()) {
                    try (InputStream in = jar.getInputStream(e)) {
                        put(out, e.getName(), in.readAllBytes(), false);
                    }
                }
            }
        }
    }

    private static void put(JarOutputStream out, String name, byte[] bytes, boolean stored) throws IOException {
        JarEntry e = new JarEntry(name);
        if (stored) {
            CRC32 crc = new CRC32();
            crc.update(bytes);
            e.setMethod(JarEntry.STORED);
            e.setSize(bytes.length);
            e.setCompressedSize(bytes.length);
            e.setCrc(crc.getValue());
        }
        out.putNextEntry(e);
        out.write(bytes);
        out.closeEntry();
    }
}
