package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import example.fenced.Admitted;
import example.fenced.AppFailure;
import example.fenced.Plain;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client with no configured pattern decodes what tasks commonly return (plain values,
 * collections, records, java.base exceptions) and nothing else: a result of an application's
 * class fails its future naming the setting to add it to, and an application's exception
 * arrives described as a {@link RemoteTaskException}. A client whose pattern names them gets
 * the classes themselves. Real worker JVMs; the classes are outside io.cohort (always admitted).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClientAllowListTest {
    private static RemoteExecutor cohort;

    @BeforeAll
    static void startCluster() {
        cohort = (RemoteExecutor) Cohort.local(LocalClusterConfig.builder().workers(1).slotsPerWorker(2).build());
    }

    @AfterAll
    static void stopCluster() {
        cohort.close();
    }

    private static Throwable failure(TaskFuture<?> f) {
        return assertThrows(ExecutionException.class, () -> f.get(60, TimeUnit.SECONDS)).getCause();
    }

    @Test
    void plainValuesCollectionsRecordsAndJavaBaseExceptionsAreDecoded() throws Exception {
        assertEquals(Map.of("a", List.of(1L, 2L)), cohort.submit(() -> Map.of("a", List.of(1L, 2L))).get(60, TimeUnit.SECONDS));
        assertEquals(new TreeMap<>(Map.of(LocalDate.of(2026, 1, 1), new BigDecimal("2.50"))),
                cohort.submit(() -> new TreeMap<>(Map.of(LocalDate.of(2026, 1, 1), new BigDecimal("2.50"))))
                        .get(60, TimeUnit.SECONDS));
        assertEquals(new Admitted(3), cohort.submit(() -> new Admitted(3)).get(60, TimeUnit.SECONDS));
        assertEquals(List.of(new Admitted(1), new Admitted(2)),
                cohort.map((Integer n) -> new Admitted(n), List.of(1, 2)).toList());
        Throwable e = failure(cohort.submit(() -> {
            throw new IllegalArgumentException("bad", new java.io.IOException("under"));
        }));
        assertInstanceOf(IllegalArgumentException.class, e);
        assertInstanceOf(java.io.IOException.class, e.getCause());
    }

    @Test
    void anApplicationsResultClassIsRefusedNamingTheSetting() {
        Throwable cause = failure(cohort.submit(() -> new Plain(1)));
        assertInstanceOf(CohortException.class, cause);
        String m = cause.getMessage();
        assertTrue(m.contains("example.fenced.Plain") && m.contains("ClientConfig.Builder.deserializationFilter")
                && m.contains("\"example.fenced.*\""), m);
    }

    @Test
    void anApplicationsExceptionArrivesAsARemoteTaskExceptionWithItsNameMessageAndFrames() {
        Throwable cause = failure(cohort.submit(ClientAllowListTest::fail));
        RemoteTaskException remote = assertInstanceOf(RemoteTaskException.class, cause);
        assertEquals("example.fenced.AppFailure", remote.remoteClassName());
        assertEquals("it broke", remote.remoteMessage());
        assertEquals("fail", remote.getStackTrace()[0].getMethodName());
        assertEquals(ClientAllowListTest.class.getName(), remote.getStackTrace()[0].getClassName());
    }

    private static Object fail() {
        throw new AppFailure("it broke");
    }

    @Test
    void aClientWhosePatternNamesThemGetsTheClassesThemselves() throws Exception {
        try (CohortExecutor named = Cohort.connect(cohort.anotherClient()
                .deserializationFilter("example.fenced.*").build())) {
            assertEquals(4, named.submit(() -> new Plain(4)).get(60, TimeUnit.SECONDS).n);
            Throwable cause = failure(named.submit(ClientAllowListTest::fail));
            assertInstanceOf(AppFailure.class, cause);
            assertEquals("it broke", cause.getMessage());
        }
    }
}
