package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Shared objects used from tasks on two real worker JVMs (two slots each) and from the client.
 * Tasks that must overlap meet at a shared barrier, so placement on both workers is certain.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SharedObjectsTest {
    private static final int SLOTS = 4;
    private static CohortExecutor cohort;

    @BeforeAll
    static void startCluster() {
        cohort = Cohort.local(LocalClusterConfig.builder().workers(2).slotsPerWorker(2).build());
    }

    @AfterAll
    static void stopCluster() {
        if (cohort != null) {
            cohort.close();
        }
    }

    /** Runs {@code task} once per slot, all at the same time, and returns their results. */
    private static <T> List<T> onEverySlot(String name, RemoteFunction<Integer, T> task) throws Exception {
        SharedBarrier start = cohort.sharedBarrier(name + "-start", SLOTS);
        List<TaskFuture<T>> futures = new ArrayList<>();
        for (int i = 0; i < SLOTS; i++) {
            futures.add(cohort.submit((Integer slot) -> {
                start.await(Duration.ofSeconds(30));
                return task.apply(slot);
            }, i));
        }
        List<T> results = new ArrayList<>();
        for (TaskFuture<T> f : futures) {
            results.add(f.get(40, TimeUnit.SECONDS));
        }
        return results;
    }

    @Test
    void incrementsFromTasksOnBothWorkersAddUpExactly() throws Exception {
        SharedLong hits = cohort.sharedLong("hits", 0);
        SharedDouble sum = cohort.sharedDouble("sum", 0.5);
        List<Long> pids = onEverySlot("hits", slot -> {
            for (int i = 0; i < 100; i++) {
                hits.addAndGet(1);
                sum.addAndGet(1.0);
            }
            return ProcessHandle.current().pid();
        });
        assertEquals(2, new HashSet<>(pids).size(), "tasks ran on both workers");
        assertEquals(SLOTS * 100, hits.get());
        assertEquals(SLOTS * 100 + 0.5, sum.get());
        assertEquals(SLOTS * 100 * 2, hits.updateAndGet(x -> x * 2));
        assertTrue(hits.compareAndSet(SLOTS * 200, 7));
        assertEquals(7, hits.getAndAdd(1));
    }

    @Test
    void barrierTripsWithEveryArrivalIndexOnce() throws Exception {
        SharedBarrier barrier = cohort.sharedBarrier("trip", SLOTS);
        List<List<Integer>> indices = onEverySlot("trip", slot -> {
            int first = barrier.await(Duration.ofSeconds(30));
            int second = barrier.await(Duration.ofSeconds(30));   // reusable after a trip
            return List.of(first, second);
        });
        assertEquals(Set.of(0, 1, 2, 3), Set.copyOf(indices.stream().map(l -> l.get(0)).toList()));
        assertEquals(Set.of(0, 1, 2, 3), Set.copyOf(indices.stream().map(l -> l.get(1)).toList()));
        assertEquals(SLOTS, barrier.parties());
        assertFalse(barrier.isBroken());
    }

    @Test
    void everyItemPutIsTakenExactlyOnce() throws Exception {
        SharedQueue<Integer> queue = cohort.sharedQueue("items", 4);
        int perProducer = 100;
        List<List<Integer>> results = onEverySlot("items", slot -> {
            List<Integer> taken = new ArrayList<>();
            if (slot < 2) {
                for (int i = 0; i < perProducer; i++) {
                    queue.put(slot * perProducer + i);
                }
                queue.put(-1);   // one end marker per producer, one per consumer
            } else {
                for (Integer item = queue.take(); item != -1; item = queue.take()) {
                    taken.add(item);
                }
            }
            return taken;
        });
        List<Integer> all = new ArrayList<>();
        results.forEach(all::addAll);
        assertEquals(2 * perProducer, all.size());
        assertEquals(2 * perProducer, new TreeSet<>(all).size(), "no item taken twice");
        assertEquals(0, queue.size());
    }

    @Test
    void offerAndPollTimeOut() {
        SharedQueue<String> queue = cohort.sharedQueue("bounded", 1);
        assertTrue(queue.offer("a"));
        long start = System.nanoTime();
        assertFalse(queue.offer("b", Duration.ofMillis(200)));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(190));
        assertFalse(queue.offer("b"));
        assertEquals(1, queue.size());
        assertEquals("a", queue.poll(Duration.ofMillis(200)));
        start = System.nanoTime();
        assertNull(queue.poll(Duration.ofMillis(200)));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(190));
        assertNull(queue.poll());
        assertEquals(1, queue.capacity());
    }

    @Test
    void lockExcludesAcrossTasksOnBothWorkers() throws Exception {
        SharedLock lock = cohort.sharedLock("mutex");
        SharedLong unsafe = cohort.sharedLong("guarded", 0);   // read-then-write: only safe under the lock
        SharedLong inside = cohort.sharedLong("inside", 0);
        SharedLong most = cohort.sharedLong("most", 0);
        onEverySlot("mutex", slot -> {
            for (int i = 0; i < 20; i++) {
                lock.lock();
                try {
                    long now = inside.addAndGet(1);
                    most.updateAndGet(m -> Math.max(m, now));
                    unsafe.set(unsafe.get() + 1);
                    inside.addAndGet(-1);
                } finally {
                    lock.unlock();
                }
            }
            return null;
        });
        assertEquals(SLOTS * 20, unsafe.get());
        assertEquals(1, most.get());
    }

    @Test
    void unlockByANonHolderThrowsIllegalMonitorState() throws Exception {
        SharedLock lock = cohort.sharedLock("held-by-client");
        assertThrows(IllegalMonitorStateException.class, lock::unlock, "not held at all");
        lock.lock();
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> cohort.submit(() -> {
                    lock.unlock();
                    return null;
                }).get(30, TimeUnit.SECONDS));
        assertInstanceOf(IllegalMonitorStateException.class, e.getCause());
        Future<?> otherThread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r);
            t.setDaemon(true);
            return t;
        }).submit(lock::unlock);
        ExecutionException e2 = assertThrows(ExecutionException.class, () -> otherThread.get(30, TimeUnit.SECONDS));
        assertInstanceOf(IllegalMonitorStateException.class, e2.getCause());
        assertFalse(lock.tryLock(), "not reentrant, and still held");
        lock.unlock();
        assertTrue(lock.tryLock());
        lock.unlock();
    }

    @Test
    void aLockIsReleasedWhenItsHolderTaskEndsWithoutUnlocking() throws Exception {
        SharedLock lock = cohort.sharedLock("forgotten");
        assertTrue(cohort.submit(() -> lock.tryLock(Duration.ofSeconds(10))).get(30, TimeUnit.SECONDS));
        assertTrue(lock.tryLock(Duration.ofSeconds(10)), "released when the task ended");
        lock.unlock();
        ExecutionException e = assertThrows(ExecutionException.class, () -> cohort.submit(() -> {
            lock.lock();
            throw new IllegalArgumentException("fails holding the lock");
        }).get(30, TimeUnit.SECONDS));
        assertInstanceOf(IllegalArgumentException.class, e.getCause());
        assertTrue(lock.tryLock(Duration.ofSeconds(10)), "released when the task failed");
        lock.unlock();
    }

    @Test
    void eventSetInOneTaskWakesAwaitsInOthers() throws Exception {
        SharedEvent go = cohort.sharedEvent("go");
        assertFalse(go.isSet());
        assertFalse(go.await(Duration.ofMillis(50)));
        List<Boolean> woke = onEverySlot("go", slot -> {
            if (slot == 0) {
                go.set();
                return true;
            }
            return go.await(Duration.ofSeconds(30));
        });
        assertEquals(List.of(true, true, true, true), woke);
        assertTrue(go.isSet());
        go.clear();
        assertFalse(go.isSet());
    }

    @Test
    void aBarrierWaitThatTimesOutBreaksItUntilReset() throws Exception {
        SharedBarrier barrier = cohort.sharedBarrier("breakable", 2);
        assertThrows(CohortTimeoutException.class, () -> barrier.await(Duration.ofMillis(100)));
        assertTrue(barrier.isBroken());
        CohortException broken = assertThrows(CohortException.class, () -> barrier.await(Duration.ofSeconds(5)));
        assertFalse(broken instanceof CohortTimeoutException, "broken, not timed out: " + broken);
        barrier.reset();
        assertFalse(barrier.isBroken());
        TaskFuture<Integer> other = cohort.submit(() -> barrier.await(Duration.ofSeconds(30)));
        int mine = barrier.await(Duration.ofSeconds(30));
        assertEquals(Set.of(0, 1), Set.of(mine, other.get(30, TimeUnit.SECONDS)));
    }

    @Test
    void theSameNameGivesTheSameObjectAndAnotherTypeIsRefused() {
        SharedLong a = cohort.sharedLong("name", 1);
        SharedLong b = cohort.sharedLong("name", 5);
        assertEquals(1, b.get(), "the existing object, unchanged");
        assertEquals(a, b);
        assertThrows(IllegalStateException.class, () -> cohort.sharedMap("name"));
        assertThrows(IllegalStateException.class, () -> cohort.sharedQueue("name", 3));
        assertThrows(IllegalArgumentException.class, () -> cohort.sharedQueue("no-room", 0));
    }

    @Test
    void anArrayOverTheCoordinatorsLimitIsRefusedNamingTheFlagAndNothingIsKept() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> cohort.sharedLongArray("huge", Integer.MAX_VALUE - 8));
        assertTrue(e.getMessage().contains("--shared-max-object-bytes") && e.getMessage().contains("huge"),
                e.getMessage());
        assertEquals(3, cohort.sharedLongArray("huge", 3).length(), "the name was not taken by the refused one");
    }

    @Test
    void afterCloseEveryHandleToTheObjectThrowsIllegalState() throws Exception {
        SharedLong counter = cohort.sharedLong("closing", 3);
        SharedLong same = cohort.sharedLong("closing", 0);
        counter.close();
        assertThrows(IllegalStateException.class, same::get);
        assertThrows(IllegalStateException.class, () -> counter.addAndGet(1));
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> cohort.submit(same::get).get(30, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, e.getCause());
        SharedLong again = cohort.sharedLong("closing", 9);
        assertEquals(9, again.get(), "a new object under the old name");
        assertThrows(IllegalStateException.class, same::get, "old handles stay dead");
    }

    @Test
    void mapAndListFromTasks() throws Exception {
        SharedMap<String, Integer> map = cohort.sharedMap("squares");
        SharedList<String> list = cohort.sharedList("names");
        SharedLongArray longs = cohort.sharedLongArray("longs", SLOTS);
        SharedDoubleArray doubles = cohort.sharedDoubleArray("doubles", SLOTS);
        onEverySlot("collections", slot -> {
            map.put("k" + slot, slot * slot);
            list.add("n" + slot);
            longs.addAndGet(slot, slot + 1);
            doubles.set(slot, slot / 2.0);
            return null;
        });
        assertEquals(Map.of("k0", 0, "k1", 1, "k2", 4, "k3", 9), new java.util.HashMap<>(map));
        assertEquals(4, map.get("k2"));
        assertTrue(map.containsKey("k3"));
        assertEquals(9, map.remove("k3"));
        assertNull(map.get("k3"));
        assertEquals(1, map.putIfAbsent("k1", 100));
        assertEquals(3, map.size());
        assertEquals(Set.of("n0", "n1", "n2", "n3"), new HashSet<>(list));
        assertTrue(list.remove("n2"));
        assertFalse(list.contains("n2"));
        list.set(0, "first");
        assertEquals("first", list.get(0));
        assertEquals(3, list.size());
        assertThrows(IndexOutOfBoundsException.class, () -> list.get(3));
        assertEquals(List.of(1L, 2L, 3L, 4L), java.util.Arrays.stream(longs.toArray()).boxed().toList());
        assertEquals(1.5, doubles.get(3));
        assertEquals(SLOTS, longs.length());
        assertThrows(IndexOutOfBoundsException.class, () -> longs.get(SLOTS));
        assertEquals(List.of(1.0), cohort.submit(() -> {
            map.clear();
            list.clear();
            return List.of(doubles.get(2));
        }).get(30, TimeUnit.SECONDS));
        assertTrue(map.isEmpty() && list.isEmpty());
    }

    @Test
    void twoHundredParkedTakesHoldNoCoordinatorThread() throws Exception {
        SharedQueue<Integer> queue = cohort.sharedQueue("parked", 100);
        SharedLong alive = cohort.sharedLong("alive", 0);
        int takers = 200;
        ExecutorService threads = Executors.newFixedThreadPool(takers);
        try {
            // All time out: nothing is put.
            List<Future<Integer>> polls = pollsFrom(threads, queue, takers, Duration.ofSeconds(1));
            assertEquals(1, alive.addAndGet(1), "the coordinator answers while takes wait");
            for (Future<Integer> p : polls) {
                assertNull(p.get(30, TimeUnit.SECONDS));
            }
            // All get an item, each a different one.
            polls = pollsFrom(threads, queue, takers, Duration.ofSeconds(30));
            for (int i = 0; i < takers; i++) {
                queue.put(i);
            }
            Set<Integer> got = new HashSet<>();
            for (Future<Integer> p : polls) {
                assertTrue(got.add(p.get(40, TimeUnit.SECONDS)), "each item taken once");
            }
            assertEquals(takers, got.size());
            assertEquals(0, queue.size());
        } finally {
            threads.shutdownNow();
        }
    }

    private static List<Future<Integer>> pollsFrom(ExecutorService threads, SharedQueue<Integer> queue, int n,
                                                   Duration timeout) throws InterruptedException {
        CountDownLatch started = new CountDownLatch(n);
        List<Future<Integer>> polls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            polls.add(threads.submit(() -> {
                started.countDown();
                return queue.poll(timeout);
            }));
        }
        assertTrue(started.await(20, TimeUnit.SECONDS));
        return polls;
    }

    @Test
    void anInterruptedTakeThrowsKeepsTheFlagAndLeavesNoWaiter() throws Exception {
        SharedQueue<String> queue = cohort.sharedQueue("interrupted", 2);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> flag = new AtomicReference<>();
        CountDownLatch entering = new CountDownLatch(1);
        Thread taker = new Thread(() -> {
            entering.countDown();
            try {
                queue.take();
            } catch (RuntimeException e) {
                thrown.set(e);
                flag.set(Thread.currentThread().isInterrupted());
            }
        });
        taker.start();
        assertTrue(entering.await(10, TimeUnit.SECONDS));
        taker.interrupt();
        taker.join(20_000);
        assertFalse(taker.isAlive());
        CohortException e = assertInstanceOf(CohortException.class, thrown.get());
        assertInstanceOf(InterruptedException.class, e.getCause());
        assertTrue(flag.get());
        queue.put("kept");
        assertEquals("kept", queue.poll(Duration.ofSeconds(5)), "the item went to no abandoned waiter");
    }

    /** Its own cluster: a worker is killed. One slot per worker, so the two tasks run apart. */
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aLockHeldOnAKilledWorkerIsReleasedToAnotherTask() throws Exception {
        try (CohortExecutor own = Cohort.local(LocalClusterConfig.builder().workers(2).slotsPerWorker(1).build());
             Gate gate = new Gate()) {
            LocalClusterTest.awaitActiveWorkers(own, 2);
            SharedLock lock = own.sharedLock("fragile");
            Gate.Handle h = gate.handle();
            TaskFuture<Long> holder = own.submit(() -> {
                lock.lock();
                h.pass();   // holds the lock until killed
                return ProcessHandle.current().pid();
            }, TaskOptions.builder().maxRetries(0).build());
            assertTrue(gate.awaitArrivals(1, 30), "the holder has the lock");
            String victim = holder.workerId();
            TaskFuture<String> waiter = own.submit(() -> {
                boolean got = lock.tryLock(Duration.ofSeconds(60));
                return got + " on " + ProcessHandle.current().pid();
            });
            LocalClusterTest.waitUntil(waiter::isRunning);
            assertNotEquals(victim, waiter.workerId());
            long victimPid = WorkerFailureTest.pidOf(own, victim);
            assertTrue(ProcessHandle.of(victimPid).orElseThrow().destroyForcibly(), "kill -9 the holder's worker");
            assertTrue(waiter.get(60, TimeUnit.SECONDS).startsWith("true"));
            ExecutionException lost = assertThrows(ExecutionException.class, () -> holder.get(30, TimeUnit.SECONDS));
            assertInstanceOf(WorkerLostException.class, lost.getCause());
        }
    }
}
