package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** MapResult against a sender that stands in for the cluster: units, order, failures, read-ahead. */
class MapResultTest {
    /** Every unit is still queued when cancelled. */
    private static final TaskFuture.Canceller NOT_STARTED = new TaskFuture.Canceller() {
        @Override
        public void interruptRemote(TaskFuture<?> future) {
        }

        @Override
        public boolean removeIfNotStarted(TaskFuture<?> future) {
            return true;
        }
    };

    /** Runs each unit as {@code x + 1}, failing inputs equal to {@code failAt}, at once or from another thread. */
    private static final class FakeCluster implements MapResult.UnitSender {
        final List<Integer> unitSizes = new ArrayList<>();
        final List<TaskFuture<Object>> cancelled = new ArrayList<>();
        final long failAt;
        final LinkedBlockingQueue<Runnable> later;   // null: complete at once
        int maxOut;
        int out;

        FakeCluster(long failAt, boolean async) {
            this.failAt = failAt;
            this.later = async ? new LinkedBlockingQueue<>() : null;
        }

        @Override
        public MapResult.Sent send(Object[] inputs) {
            synchronized (this) {
                unitSizes.add(inputs.length);
                maxOut = Math.max(maxOut, ++out);
            }
            TaskFuture<Object> f = new TaskFuture<>(unitSizes.size(), "unit", NOT_STARTED);
            Runnable run = () -> {
                synchronized (this) {
                    out--;
                }
                if (inputs.length == 1) {
                    if ((Long) inputs[0] == failAt) {
                        f.fail(new ArithmeticException("at " + failAt));
                    } else {
                        f.succeed((Long) inputs[0] + 1);
                    }
                    return;
                }
                Object[] values = new Object[inputs.length];
                Throwable[] failures = null;
                for (int i = 0; i < inputs.length; i++) {
                    if ((Long) inputs[i] == failAt) {
                        failures = failures == null ? new Throwable[inputs.length] : failures;
                        failures[i] = new ArithmeticException("at " + failAt);
                    } else {
                        values[i] = (Long) inputs[i] + 1;
                    }
                }
                f.succeed(new ResultDecoder.ChunkOutcome(values, failures));
            };
            if (later == null) {
                run.run();
            } else {
                later.add(run);
            }
            return new MapResult.Sent(f, 9L * inputs.length);
        }

        @Override
        public void cancelNotStarted(List<TaskFuture<Object>> units) {
            for (TaskFuture<Object> u : units) {
                if (u.cancel(false)) {
                    cancelled.add(u);
                }
            }
        }
    }

    private static List<Long> range(long n) {
        return LongStream.range(0, n).boxed().toList();
    }

    private static MapResult<Long> auto(FakeCluster cluster, Iterable<Long> inputs, long length, int buffer,
                                        boolean ordered) {
        int slots = 2;
        return new MapResult<>(inputs.iterator(), cluster, 0, new ChunkSizer(slots, length, buffer),
                slots * ChunkSizer.UNITS_PER_SLOT, buffer, Long.MAX_VALUE, ordered);
    }

    @Test
    void automaticUnitsYieldEveryResultInOrder() {
        FakeCluster cluster = new FakeCluster(-1, false);
        List<Long> inputs = range(200_000);
        List<Long> got = auto(cluster, inputs, inputs.size(), ChunkSizer.defaultBuffer(2), true).toList();
        assertEquals(LongStream.range(1, 200_001).boxed().toList(), got);
        assertEquals(200_000, cluster.unitSizes.stream().mapToInt(Integer::intValue).sum());
        assertEquals(25_000, cluster.unitSizes.get(0), "a quarter of the inputs per slot first");
    }

    @Test
    void aFailedElementInsideAUnitThrowsAtItsPositionAndTheOthersComeThrough() {
        FakeCluster cluster = new FakeCluster(12_345, false);
        Iterator<Long> it = auto(cluster, range(50_000), 50_000, ChunkSizer.defaultBuffer(2), true).iterator();
        for (long i = 0; i < 50_000; i++) {
            if (i == 12_345) {
                TaskFailedException e = assertThrows(TaskFailedException.class, it::next);
                assertInstanceOf(ArithmeticException.class, e.getCause());
                assertTrue(e.getMessage().contains("element 12345"), e.getMessage());
            } else {
                assertEquals(i + 1, it.next());
            }
        }
        assertFalse(it.hasNext());
        assertTrue(cluster.unitSizes.get(0) > 1, "the failure was inside a chunk");
    }

    /** 0, 1, 2, ... without end; {@code read} counts the inputs taken. */
    static Iterable<Long> endless(AtomicLong read) {
        return () -> new Iterator<>() {
            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public Long next() {
                return read.getAndIncrement();
            }
        };
    }

    @Test
    void anEndlessInputIsReadAtMostBufferSizeAheadAndUnitsGrow() {
        AtomicLong read = new AtomicLong();
        Iterable<Long> endless = endless(read);
        FakeCluster cluster = new FakeCluster(-1, false);
        int buffer = 10_000;
        try (MapResult<Long> results = auto(cluster, endless, -1, buffer, true)) {
            Iterator<Long> it = results.iterator();
            for (long i = 0; i < 1_000_000; i++) {
                assertEquals(i + 1, it.next());
                assertTrue(read.get() <= i + 1 + buffer, "read " + read.get() + " inputs for " + (i + 1) + " results");
            }
        }
        assertEquals(1, cluster.unitSizes.get(0), "an unknown length starts with single inputs");
        int largest = cluster.unitSizes.stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertEquals(buffer / 4, largest, "fast units grow to half the buffer per slot");
    }

    @Test
    void unitsCompletedOnAnotherThreadInAnyOrderComeBackWholeAndInFlightStaysBounded() throws Exception {
        for (boolean ordered : new boolean[] {true, false}) {
            FakeCluster cluster = new FakeCluster(777, true);
            AtomicInteger served = new AtomicInteger();
            Thread workers = new Thread(() -> {
                List<Runnable> batch = new ArrayList<>();
                try {
                    while (true) {
                        Runnable first = cluster.later.poll(10, TimeUnit.SECONDS);
                        if (first == null) {
                            return;
                        }
                        batch.add(first);
                        cluster.later.drainTo(batch);
                        // complete the newest first, so completion order differs from input order
                        for (int i = batch.size() - 1; i >= 0; i--) {
                            batch.get(i).run();
                            served.incrementAndGet();
                        }
                        batch.clear();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "fake-workers");
            workers.setDaemon(true);
            workers.start();
            List<Long> inputs = range(100_000);
            List<Long> got = new ArrayList<>();
            int failures = 0;
            MapResult<Long> results = auto(cluster, inputs, inputs.size(), ChunkSizer.defaultBuffer(2), ordered);
            Iterator<Long> it = results.iterator();
            while (it.hasNext()) {
                try {
                    got.add(it.next());
                } catch (TaskFailedException e) {
                    failures++;
                }
            }
            workers.interrupt();
            workers.join();
            assertEquals(1, failures);
            assertEquals(99_999, got.size());
            if (ordered) {
                List<Long> expected = new ArrayList<>(LongStream.range(1, 100_001).boxed().toList());
                expected.remove(Long.valueOf(778));
                assertEquals(expected, got);
            } else {
                long[] sorted = got.stream().mapToLong(Long::longValue).sorted().toArray();
                assertArrayEquals(LongStream.range(1, 100_001).filter(x -> x != 778).toArray(), sorted);
            }
            assertTrue(cluster.maxOut <= 2 * ChunkSizer.UNITS_PER_SLOT + 1, "units out: " + cluster.maxOut);
            // each unit counted once, whether its hook or the iteration got there first
            assertEquals(100_000, results.progress().done());
            assertEquals(1, results.progress().failed());
            assertEquals(java.util.OptionalLong.of(100_000), results.progress().total());
        }
    }

    /** Ten units of ten inputs, all sent at once; the cluster runs them when the test says. */
    private static MapResult<Long> tenUnits(FakeCluster cluster, ProgressTracker progress, ProgressBar bar,
                                            boolean ordered) {
        return new MapResult<>(range(100).iterator(), cluster, 10, null, Integer.MAX_VALUE, 100, Long.MAX_VALUE,
                ordered, progress, bar);
    }

    @Test
    void progressCountsUnitsAsTheyCompleteBeforeIterationReachesThem() {
        FakeCluster cluster = new FakeCluster(25, true);
        ProgressTracker progress = new ProgressTracker(System::nanoTime, 100, ProgressTracker.Listener.NONE);
        MapResult<Long> results = tenUnits(cluster, progress, null, true);
        assertEquals(10, cluster.later.size());
        assertEquals(0, results.progress().done());
        for (int i = 0; i < 3; i++) {
            cluster.later.poll().run();
        }
        assertEquals(30, results.progress().done());
        assertEquals(1, results.progress().failed(), "input 25 failed");
        results.close();
        cluster.later.forEach(Runnable::run);
        assertEquals(30, results.progress().done(), "counting stops at close; cancelled units are not done");
    }

    @Test
    void outcomesComeInInputOrderWithFailuresInPlace() {
        FakeCluster cluster = new FakeCluster(42, true);
        MapResult<Long> results = tenUnits(cluster, new ProgressTracker(System::nanoTime, 100,
                ProgressTracker.Listener.NONE), null, false);
        List<Runnable> units = new ArrayList<>(cluster.later);
        for (int i = units.size() - 1; i >= 0; i--) {   // completion order is the reverse of input order
            units.get(i).run();
        }
        List<Outcome<Long>> outcomes = results.outcomes();
        assertEquals(100, outcomes.size());
        for (int i = 0; i < 100; i++) {
            Outcome<Long> o = outcomes.get(i);
            assertEquals(i, o.index());
            assertEquals(i != 42, o.succeeded());
            if (i != 42) {
                assertEquals(i + 1L, o.value());
                assertThrows(IllegalStateException.class, o::failure);
            }
        }
        Outcome<Long> failed = outcomes.get(42);
        assertInstanceOf(ArithmeticException.class, failed.failure());
        IllegalStateException e = assertThrows(IllegalStateException.class, failed::value);
        assertSame(failed.failure(), e.getCause());
        assertTrue(e.getMessage().contains("element 42"), e.getMessage());
        assertThrows(IllegalStateException.class, results::outcomes, "one pass only");
        assertThrows(IllegalStateException.class, results::iterator);
    }

    @Test
    void theBarsLastLineIsWrittenBeforeIterationEnds() {
        FakeCluster cluster = new FakeCluster(7, false);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar(new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8),
                false, System::nanoTime);
        ProgressTracker progress = new ProgressTracker(System::nanoTime, -1, ProgressTracker.Listener.NONE);
        Iterator<Long> it = tenUnits(cluster, progress, bar, true).iterator();
        int taken = 0;
        while (it.hasNext()) {
            try {
                it.next();
            } catch (TaskFailedException expected) {
                // element 7
            }
            taken++;
        }
        assertEquals(100, taken);
        String written = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
        String[] lines = written.split(System.lineSeparator());
        assertTrue(written.endsWith(System.lineSeparator()) && lines[lines.length - 1].contains("100% 100/100 done, 1 failed"),
                written);
    }

    @Test
    void closingEarlyCancelsTheUnitsNotTaken() {
        FakeCluster cluster = new FakeCluster(-1, true);
        MapResult<Long> results = auto(cluster, range(100_000), 100_000, ChunkSizer.defaultBuffer(2), true);
        assertTrue(cluster.unitSizes.size() > 1);
        results.close();
        assertEquals(cluster.unitSizes.size(), cluster.cancelled.size(), "every unit sent was cancelled");
        assertFalse(results.iterator().hasNext());
    }
}
