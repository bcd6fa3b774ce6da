package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ValueTypesTest {

    @SuppressWarnings("unchecked")
    private static <T> T roundTrip(T value) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        }
        try (ObjectInputStream in =
                     new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (T) in.readObject();
        }
    }

    @Test
    void taskLambdasAreSerializable() throws Exception {
        int base = 40;
        RemoteCallable<Integer> callable = () -> base + 2;
        RemoteFunction<Integer, Integer> square = x -> x * x;
        RemoteBiFunction<Integer, Integer, Integer> add = Integer::sum;
        List<String> log = new ArrayList<>();
        RemoteRunnable runnable = () -> log.add("ran"); // ArrayList is serializable
        assertEquals(42, roundTrip(callable).call());
        assertEquals(49, roundTrip(square).apply(7));
        assertEquals(5, roundTrip(add).apply(2, 3));
        roundTrip(runnable).run(); // runs on the copy: the original log is unchanged
        assertEquals(List.of(), log);
    }

    @Test
    void remoteTaskExceptionDescribesTheRemoteError() {
        StackTraceElement[] frames = {
            new StackTraceElement("com.acme.Job", "run", "Job.java", 12),
            new StackTraceElement("io.cohort.worker.Runner", "call", null, -1)};
        RemoteTaskException e = new RemoteTaskException("com.acme.BadThing", "it broke", "w-1",
                frames);
        assertEquals("com.acme.BadThing: it broke (on worker w-1)", e.getMessage());
        assertEquals("com.acme.BadThing", e.remoteClassName());
        assertEquals("it broke", e.remoteMessage());
        assertEquals("w-1", e.workerId());
        assertArrayEquals(frames, e.getStackTrace());
        frames[0] = null; // the exception keeps its own copy
        assertEquals("com.acme.Job", e.getStackTrace()[0].getClassName());
        assertInstanceOf(CohortException.class, e);
        assertInstanceOf(RuntimeException.class, e);

        RemoteTaskException bare = new RemoteTaskException("com.acme.Quiet", null, null, null);
        assertEquals("com.acme.Quiet", bare.getMessage());
        assertNull(bare.remoteMessage());
        assertEquals(0, bare.getStackTrace().length);
    }

    @Test
    void exceptionsAreUncheckedCohortExceptionsWithCauses() {
        Throwable cause = new IllegalStateException("x");
        List<CohortException> all = List.of(new CohortException("m", cause),
                new WorkerLostException("m", cause), new TaskTimeoutException("m", cause),
                new TaskFailedException("m", cause), new CohortTimeoutException("m", cause));
        for (CohortException e : all) {
            assertEquals("m", e.getMessage());
            assertSame(cause, e.getCause());
        }
        assertEquals("m", new WorkerLostException("m").getMessage());
        assertEquals("m", new TaskTimeoutException("m").getMessage());
        assertEquals("m", new TaskFailedException("m").getMessage());
        assertEquals("m", new CohortTimeoutException("m").getMessage());
        assertEquals("m", new CohortException("m").getMessage());
    }

    @Test
    void recordsCopyTheirCollections() {
        Map<String, Double> resources = new HashMap<>(Map.of("cpu", 4.0));
        Set<String> labels = new LinkedHashSet<>(Set.of("zone=a"));
        WorkerInfo w = new WorkerInfo("w-1", "h", 42, 4, 1, resources, labels,
                WorkerState.ACTIVE);
        resources.clear();
        labels.clear();
        assertEquals(Map.of("cpu", 4.0), w.resources());
        assertEquals(Set.of("zone=a"), w.labels());
        assertEquals(3, w.freeSlots());
        assertThrows(UnsupportedOperationException.class, () -> w.labels().add("x"));

        List<WorkerInfo> workers = new ArrayList<>(List.of(w,
                new WorkerInfo("w-2", "h", 43, 2, 2, Map.of(), Set.of(), WorkerState.DRAINING)));
        ClusterInfo c = new ClusterInfo(workers, 1, 2, 3);
        workers.clear();
        assertEquals(2, c.workers().size());
        assertEquals(4, c.totalSlots());
        assertEquals(1, c.busySlots());
        assertThrows(UnsupportedOperationException.class, () -> c.workers().clear());

        Set<String> done = new LinkedHashSet<>(List.of("a", "b"));
        DoneAndNotDone<String> d = new DoneAndNotDone<>(done, Set.of());
        done.clear();
        assertEquals(List.of("a", "b"), List.copyOf(d.done()));
        assertThrows(UnsupportedOperationException.class, () -> d.done().add("c"));
    }
}
