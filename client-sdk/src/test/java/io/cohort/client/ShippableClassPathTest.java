package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which class path entries the client ships by default, and how a directory becomes one bundle. */
class ShippableClassPathTest {
    @TempDir
    Path dir;

    private Path jar(String name, String... entries) throws IOException {
        Path jar = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(jar); ZipOutputStream zip = new ZipOutputStream(out)) {
            for (String e : entries) {
                zip.putNextEntry(new ZipEntry(e));
                zip.write(1);
            }
        }
        return jar;
    }

    private Path classDir(String name, String... files) throws IOException {
        Path d = dir.resolve(name);
        for (String f : files) {
            Files.createDirectories(d.resolve(f).getParent());
            Files.write(d.resolve(f), new byte[] {1, 2, 3});
        }
        return d;
    }

    @Test
    void theApplicationsJarsAndDirectoriesAreShippedCohortsAndTheJdksAreNot() throws IOException {
        Path grpc = jar("grpc-core.jar", "META-INF/maven/io.grpc/grpc-core/pom.properties", "io/grpc/Channel.class",
                "io/grpc/internal/Shaded.class");
        Path guava = jar("guava.jar", "META-INF/maven/com.google.guava/guava/pom.properties",
                "com/google/common/base/Strings.class");
        Path app = jar("app.jar", "META-INF/maven/com.example/app/pom.properties", "com/example/Job.class");
        Path fat = jar("app-all.jar", "META-INF/maven/io.cohort/cohort-client/pom.properties",
                "META-INF/maven/com.example/app/pom.properties", "io/cohort/client/Cohort.class", "com/example/Job.class");
        Path cohortOnly = classDir("cohort-classes", "io/cohort/client/Cohort.class");
        Path appClasses = classDir("app-classes", "com/example/Job.class", "com/example/job.properties");
        Path noClasses = jar("resources.jar", "config.properties");
        Path jdk = Path.of(System.getProperty("java.home"), "lib", "jrt-fs.jar");
        String cp = String.join(File.pathSeparator, List.of(grpc.toString(), guava.toString(), app.toString(),
                fat.toString(), cohortOnly.toString(), appClasses.toString(), noClasses.toString(), jdk.toString(),
                dir.resolve("missing.jar").toString(), ""));
        assertEquals(List.of(app, fat, appClasses), ShippableClassPath.entries(cp, File.pathSeparator));
    }

    @Test
    void aDirectoryPacksToTheSameBytesEveryTimeAndOtherClassesToOthers() throws IOException {
        Path classes = classDir("classes", "com/example/B.class", "com/example/A.class", "com/example/sub/C.class");
        try (BundleJar first = BundleJar.of(classes)) {
            Files.setLastModifiedTime(classes.resolve("com/example/A.class"), FileTime.fromMillis(12345));
            try (BundleJar second = BundleJar.of(classes)) {
                assertEquals(first.bundle().getSha256(), second.bundle().getSha256(), "file times do not matter");
                assertEquals("classes", second.bundle().getName());
            }
            Files.write(classes.resolve("com/example/A.class"), new byte[] {9});
            try (BundleJar changed = BundleJar.of(classes)) {
                assertNotEquals(first.bundle().getSha256(), changed.bundle().getSha256());
            }
        }
    }
}
