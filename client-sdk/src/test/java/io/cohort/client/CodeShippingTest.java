package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.common.ShippedCode;
import io.cohort.coordinator.CodeShipping;
import io.cohort.coordinator.CoordinatorConfig;
import io.cohort.coordinator.CoordinatorServer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Application code shipped by content hash to real worker JVMs that do not have it. The
 * application's classes are compiled during the test into jars of their own, so neither this
 * JVM's class path nor the workers' holds them.
 */
class CodeShippingTest {
    @TempDir
    static Path dir;
    private static CoordinatorServer coordinator;
    private static WorkerProcesses workers;
    private static Path cache;
    private static Path build42;
    private static Path build48;
    private static final java.util.concurrent.atomic.AtomicInteger damaged = new java.util.concurrent.atomic.AtomicInteger();

    @BeforeAll
    static void start() throws Exception {
        build42 = compile("b42", "package app; public class Answer implements io.cohort.client.RemoteCallable<Integer> {"
                + " public Integer call() { return 6 * 7; } }");
        build48 = compile("b48", "package app; public class Answer implements io.cohort.client.RemoteCallable<Integer> {"
                + " public Integer call() { return 6 * 8; } }");
        coordinator = CoordinatorServer.start(CoordinatorConfig.builder().port(0).build());
        workers = new WorkerProcesses();
        cache = dir.resolve("worker-cache");
        // Three workers starting at once; each test sends its tasks to one by its label.
        workers.start(coordinator.target(), "w-plain", "--labels", "plain", "--code-cache-dir", cache.toString());
        workers.start(coordinator.target(), "w-stale", "--labels", "stale", "--classpath", build42.toString());
        workers.start(List.of("-Xmx96m"), coordinator.target(), "w-meta", "--labels", "meta");
    }

    /** Options that place a task on the worker with this label. */
    private static TaskOptions on(String label) {
        return TaskOptions.builder().labels(java.util.Set.of(label)).build();
    }

    @AfterAll
    static void stop() {
        workers.close();
        coordinator.close();
    }

    /** Compiles {@code source} (one public class) into a jar of its own. */
    static Path compile(String name, String... sources) throws IOException {
        Path src = Files.createDirectories(dir.resolve(name + "-src"));
        Path classes = Files.createDirectories(dir.resolve(name + "-classes"));
        List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-cp", System.getProperty("java.class.path"),
                "--release", "17"));
        for (int i = 0; i < sources.length; i++) {
            Path f = src.resolve("S" + i + ".java");
            String cls = sources[i].replaceAll("(?s).*public class (\\w+).*", "$1");
            f = src.resolve(cls + i + "/" + cls + ".java");
            Files.createDirectories(f.getParent());
            Files.writeString(f, sources[i]);
            args.add(f.toString());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertEquals(0, javac.run(null, null, null, args.toArray(String[]::new)), "javac failed");
        Path jar = dir.resolve(name + ".jar");
        Files.move(BundleJar.pack(classes), jar);
        return jar;
    }

    /** An instance of {@code className} from {@code jar}, loaded the way an application would. */
    @SuppressWarnings("unchecked")
    static RemoteCallable<Integer> task(Path jar, String className) throws Exception {
        URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, CodeShippingTest.class.getClassLoader());
        return (RemoteCallable<Integer>) loader.loadClass(className).getDeclaredConstructor().newInstance();
    }

    private static CohortExecutor client(ClientConfig.Builder b) throws Exception {
        CohortExecutor ex = Cohort.connect(b.target(coordinator.target()).build());
        LocalClusterTest.waitUntil(() -> ex.clusterInfo().workers().size() == 3, 90);
        return ex;
    }

    private static String hex(Path jar) throws IOException {
        return ShippedCode.hex(ShippedCode.sha256(Files.newInputStream(jar)));
    }

    @Test
    void aWorkerWithoutTheApplicationRunsItsShippedClassAndCachesTheBundle() throws Exception {
        try (CohortExecutor ex = client(ClientConfig.builder().ship(List.of(build42)))) {
            assertEquals(42, ex.submit(task(build42, "app.Answer"), on("plain")).get(60, TimeUnit.SECONDS));
        }
        try (Stream<Path> files = Files.list(cache)) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().equals(uncheckedHex(build42))),
                    "the worker's cache holds the bundle");
        }
        assertTrue(coordinator.codeStore().has(com.google.protobuf.ByteString.fromHex(uncheckedHex(build42))));
    }

    @Test
    void twoClientsWithTwoBuildsOfOneClassEachGetTheirOwnInTheSameWorker() throws Exception {
        try (CohortExecutor old = client(ClientConfig.builder().ship(List.of(build42)));
             CohortExecutor now = client(ClientConfig.builder().ship(List.of(build48)))) {
            RemoteCallable<Integer> a = task(build42, "app.Answer");
            RemoteCallable<Integer> b = task(build48, "app.Answer");
            List<TaskFuture<Integer>> olds = new ArrayList<>();
            List<TaskFuture<Integer>> nows = new ArrayList<>();
            for (int i = 0; i < 20; i++) {   // interleaved on the one worker
                olds.add(old.submit(a, on("plain")));
                nows.add(now.submit(b, on("plain")));
            }
            for (int i = 0; i < 20; i++) {
                assertEquals(42, olds.get(i).get(60, TimeUnit.SECONDS));
                assertEquals(48, nows.get(i).get(60, TimeUnit.SECONDS));
                assertEquals("w-plain", olds.get(i).workerId());
                assertEquals("w-plain", nows.get(i).workerId());
            }
        }
    }

    @Test
    void aWorkerHoldingTheOldBuildNeverAnswersWithIt() throws Exception {
        try (CohortExecutor ex = client(ClientConfig.builder().ship(List.of(build48)))) {
            RemoteCallable<Integer> newer = task(build48, "app.Answer");
            for (int i = 0; i < 5; i++) {
                assertEquals(48, ex.submit(newer, on("stale")).get(60, TimeUnit.SECONDS));
            }
        }
        // Nothing shipped: the worker refuses its own, different build, naming both fingerprints.
        try (CohortExecutor ex = client(ClientConfig.builder().shipCode(false))) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> ex.submit(task(build48, "app.Answer"), on("stale")).get(60, TimeUnit.SECONDS));
            String m = e.getCause().getMessage();
            assertTrue(m.contains("different build of class app.Answer"), m);
            assertTrue(m.contains(classHex(build48, "app.Answer")) && m.contains(classHex(build42, "app.Answer")), m);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void childJvmsProcessTargetsAndPoolInitializersUseTheShippedCode() throws Exception {
        Path proc = compile("proc",
                "package app; public class Times implements io.cohort.client.RemoteFunction<Integer, Integer> {"
                        + " public Integer apply(Integer x) { return x * 7 + (System.getProperty(\"app.init\") == null ? 1000 : 0); } }",
                "package app; public class Init implements io.cohort.client.RemoteRunnable {"
                        + " public void run() { System.setProperty(\"app.init\", \"yes\"); } }",
                "package app; public class Quit implements io.cohort.client.RemoteRunnable {"
                        + " public void run() { System.exit(6 * 7); } }");
        URLClassLoader app = new URLClassLoader(new URL[] {proc.toUri().toURL()}, CodeShippingTest.class.getClassLoader());
        RemoteFunction<Integer, Integer> times =
                (RemoteFunction<Integer, Integer>) app.loadClass("app.Times").getDeclaredConstructor().newInstance();
        RemoteRunnable init = (RemoteRunnable) app.loadClass("app.Init").getDeclaredConstructor().newInstance();
        RemoteRunnable quit = (RemoteRunnable) app.loadClass("app.Quit").getDeclaredConstructor().newInstance();
        try (CohortExecutor ex = client(ClientConfig.builder().ship(List.of(proc)))) {
            try (CohortPool pool = ex.pool(PoolOptions.builder().processes(1).isolation(Isolation.PROCESS)
                    .initializer(init).build())) {
                assertEquals(List.of(7, 14, 21), pool.map(times, List.of(1, 2, 3)));
            }
            CohortProcess p = ex.process(quit);
            p.start();
            assertTrue(p.join(java.time.Duration.ofSeconds(60)), "the process ended");
            assertEquals(42, p.exitCode().orElseThrow(), () -> "failure: " + p.failure());
        }
    }

    @Test
    void aClassTheWorkerLacksIsNamedWithAHintWhenNothingIsShipped() throws Exception {
        try (CohortExecutor ex = client(ClientConfig.builder().shipCode(false))) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> ex.submit(task(build42, "app.Answer"), on("plain")).get(60, TimeUnit.SECONDS));
            String m = e.getCause().getMessage();
            assertTrue(m.contains("class app.Answer not found on worker w-plain") && m.contains("--classpath"), m);
        }
    }

    @Test
    void aBundleWhoseBytesDoNotMatchItsHashIsRefusedAndNothingElseIsAffected() throws Exception {
        int run = damaged.incrementAndGet();   // a build of its own each run
        Path build54 = compile("b54-" + run, "package app; public class Answer implements io.cohort.client.RemoteCallable<Integer> {"
                + " public Integer call() { return 6 * 9 + " + run + "; } }");
        try (CohortExecutor bad = client(ClientConfig.builder().ship(List.of(build54)));
             CohortExecutor good = client(ClientConfig.builder().ship(List.of(build42)))) {
            String name = hex(build54);
            Path stored = coordinator.codeStore().directory().resolve(name);
            byte[] bytes = Files.readAllBytes(stored);
            bytes[bytes.length / 2] ^= 1;   // the store's copy is damaged after the upload
            Files.write(stored, bytes);
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> bad.submit(task(build54, "app.Answer"), on("plain")).get(60, TimeUnit.SECONDS));
            String m = e.getCause().getMessage();
            assertTrue(m.contains("bundle " + name) && m.contains("does not match its hash"), m);
            assertEquals(42, good.submit(task(build42, "app.Answer"), on("plain")).get(60, TimeUnit.SECONDS));
            assertTrue(Files.notExists(cache.resolve(name)), "the refused bundle is not cached");
        }
    }

    @Test
    void aCoordinatorWithoutCodeShippingRefusesItClearly() throws Exception {
        try (CoordinatorServer off = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .codeShipping(CodeShipping.DEFAULTS.withEnabled(false)).build())) {
            CohortException e = assertThrows(CohortException.class, () -> Cohort.connect(ClientConfig.builder()
                    .target(off.target()).ship(List.of(build42)).build()));
            assertTrue(e.getMessage().contains("PERMISSION_DENIED") && e.getMessage().contains("--no-code-shipping"),
                    e.getMessage());
            assertEquals(0, off.codeStore().size());
        }
    }

    @Test
    void withACodeTokenOnlyItsHolderShips() throws Exception {
        try (CoordinatorServer tokens = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .tokens("client-secret", "worker-secret")
                .codeShipping(new CodeShipping(true, "code-secret", CodeShipping.DEFAULTS.storeBytes(), List.of()))
                .build())) {
            CohortException e = assertThrows(CohortException.class, () -> Cohort.connect(ClientConfig.builder()
                    .target(tokens.target()).authToken("client-secret").ship(List.of(build42)).build()));
            assertTrue(e.getMessage().contains("may not ship code") && e.getMessage().contains("--code-token-file"),
                    e.getMessage());
            assertEquals(0, tokens.codeStore().size());
            try (CohortExecutor ex = Cohort.connect(ClientConfig.builder().target(tokens.target())
                    .authToken("code-secret").ship(List.of(build42)).build())) {
                assertEquals(1, tokens.codeStore().size());
                assertTrue(ex.clusterInfo().workers().isEmpty());   // the code token is a client token too
            }
        }
    }

    @Test
    void aJarOutsideTheAllowedPackagesIsRefused() throws Exception {
        try (CoordinatorServer strict = CoordinatorServer.start(CoordinatorConfig.builder().port(0)
                .codeShipping(new CodeShipping(true, null, CodeShipping.DEFAULTS.storeBytes(), List.of("com.example")))
                .build())) {
            CohortException e = assertThrows(CohortException.class, () -> Cohort.connect(ClientConfig.builder()
                    .target(strict.target()).ship(List.of(build42)).build()));
            assertTrue(e.getMessage().contains("app.Answer") && e.getMessage().contains("--ship-allow-package com.example"),
                    e.getMessage());
            assertEquals(0, strict.codeStore().size());
        }
    }

    @Test
    void fiftyShippedAndDroppedBundlesGiveTheirClassesAndMetaspaceBack() throws Exception {
        int n = 50;
        String[] sources = new String[n + 1];   // one more, shipped first, loads the worker's own shipping code
        for (int i = 0; i <= n; i++) {
            // a few classes each, so each loader holds something worth measuring
            sources[i] = "package m" + i + "; public class Task implements io.cohort.client.RemoteCallable<Integer> {"
                    + " static class A { int f() { return " + i + "; } }"
                    + " static final class B extends A { int g() { return f() + 1; } }"
                    + " public Integer call() { return new B().g(); } }";
        }
        compile("meta", sources);
        Path all = dir.resolve("meta-classes");
        try (CohortExecutor probe = client(ClientConfig.builder().shipCode(false))) {
            List<Path> jars = new ArrayList<>();
            for (int i = 0; i <= n; i++) {
                Path only = Files.createDirectories(dir.resolve("meta-" + i + "/m" + i));
                try (Stream<Path> files = Files.list(all.resolve("m" + i))) {
                    for (Path f : files.toList()) {
                        Files.copy(f, only.resolve(f.getFileName()));
                    }
                }
                jars.add(Files.move(BundleJar.pack(only.getParent()), dir.resolve("meta-" + i + ".jar")));
            }
            shipAndDrop(jars.get(0), 0);
            long[] before = probe.submit(CodeShippingTest::classesAndMetaspace, on("meta")).get(60, TimeUnit.SECONDS);
            java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(5);
            try {
                List<java.util.concurrent.Future<?>> done = new ArrayList<>();
                for (int i = 1; i <= n; i++) {
                    int k = i;
                    done.add(clients.submit(() -> {
                        shipAndDrop(jars.get(k), k);
                        return null;
                    }));
                }
                for (java.util.concurrent.Future<?> f : done) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                clients.shutdownNow();
            }
            long[] after = probe.submit(CodeShippingTest::classesAndMetaspace, on("meta")).get(60, TimeUnit.SECONDS);
            // 50 loaders of 3 classes each, kept, would be 150 classes more. Metaspace also holds the
            // profiles of the worker's own methods, which grow as it runs: measured +0.5 MB of ~20 MB.
            assertTrue(after[0] - before[0] < 30, "loaded classes " + before[0] + " -> " + after[0]);
            assertTrue(after[1] - before[1] < 1_500_000, "Metaspace " + before[1] + " -> " + after[1]);
        }
    }

    /** A session that ships {@code jar}, runs its task once on the Metaspace worker and ends. */
    private static void shipAndDrop(Path jar, int i) throws Exception {
        try (CohortExecutor ex = Cohort.connect(ClientConfig.builder().target(coordinator.target()).ship(List.of(jar)).build())) {
            assertEquals(i + 1, ex.submit(task(jar, "m" + i + ".Task"), on("meta")).get(60, TimeUnit.SECONDS));
        }
    }

    /**
     * In the worker: forces collection, soft references included (on JDK 17 serialization's
     * class caches hold classes softly until memory runs short), then its loaded-class count and
     * Metaspace in use.
     */
    static long[] classesAndMetaspace() {
        long meta = 0;
        try {
            List<long[]> hog = new ArrayList<>();
            while (true) {
                hog.add(new long[1 << 20]);
            }
        } catch (OutOfMemoryError expected) {
            // every soft reference is cleared before this is thrown
        }
        for (int round = 0; round < 3; round++) {
            System.gc();
        }
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getName().equals("Metaspace")) {
                meta = pool.getUsage().getUsed();
            }
        }
        return new long[] {ManagementFactory.getClassLoadingMXBean().getLoadedClassCount(), meta};
    }

    private static String uncheckedHex(Path jar) {
        try {
            return hex(jar);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String classHex(Path jar, String className) throws IOException {
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(jar.toFile())) {
            return ShippedCode.hex(ShippedCode.sha256(z.getInputStream(z.getEntry(ShippedCode.resourceName(className)))));
        }
    }
}
