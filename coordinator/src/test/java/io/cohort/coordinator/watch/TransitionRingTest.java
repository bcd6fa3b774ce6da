package io.cohort.coordinator.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.coordinator.core.TaskState;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The scheduler's rings: a reader gets whole entries in order, and counts what it lost when it fell a lap behind. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TransitionRingTest {
    private static final TaskState[] STATES = TaskState.values();

    @Test
    void aReaderThatKeepsUpSeesEveryEntryInOrder() {
        TransitionRing ring = new TransitionRing(8);
        List<Long> seen = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            for (int i = 0; i < 6; i++) {
                long n = round * 6L + i;
                ring.put(n * 10, n, (int) n, TaskState.QUEUED, TaskState.ASSIGNED, "assigned", "w-" + n, "s", "c");
            }
            assertEquals(0, ring.drain((t, key, attempt, from, to, why, worker, session, client) -> {
                assertEquals(key * 10, t);
                assertEquals("w-" + key, worker);
                seen.add(key);
            }));
        }
        assertEquals(30, seen.size());
        for (int i = 0; i < 30; i++) {
            assertEquals(i, seen.get(i));
        }
        assertEquals(0, ring.drain((t, key, attempt, from, to, why, worker, session, client) -> seen.add(-1L)), "nothing new");
    }

    @Test
    void aReaderALapBehindLosesTheOldestAndCountsThem() {
        TransitionRing ring = new TransitionRing(8);
        for (long n = 0; n < 20; n++) {
            ring.put(n, n, 0, TaskState.NEW, TaskState.QUEUED, "submitted", null, "s", "c");
        }
        List<Long> seen = new ArrayList<>();
        long lost = ring.drain((t, key, attempt, from, to, why, worker, session, client) -> seen.add(key));
        assertEquals(12, lost);
        assertEquals(List.of(12L, 13L, 14L, 15L, 16L, 17L, 18L, 19L), seen);
        SampleRing samples = new SampleRing(4);
        for (long n = 0; n < 10; n++) {
            samples.put(n);
        }
        List<Long> values = new ArrayList<>();
        assertEquals(6, samples.drain(values::add));
        assertEquals(List.of(6L, 7L, 8L, 9L), values);
    }

    /**
     * A writer thread racing a reader: every entry read is whole (its fields agree), in order,
     * and what was read plus what was lost is what was written.
     */
    @Test
    void underARacingWriterEntriesAreWholeInOrderAndAccountedFor() throws Exception {
        TransitionRing ring = new TransitionRing(64);
        long total = 2_000_000;
        CountDownLatch written = new CountDownLatch(1);
        Thread writer = new Thread(() -> {
            for (long n = 0; n < total; n++) {
                TaskState from = STATES[(int) (n % STATES.length)];
                ring.put(n * 3, n, (int) n, from, from, from.name(), null, "s", "c");
            }
            written.countDown();
        }, "ring-writer");
        AtomicBoolean torn = new AtomicBoolean();
        long[] last = {-1};
        long[] read = {0};
        TransitionRing.Visitor check = (t, key, attempt, from, to, why, worker, session, client) -> {
            if (t != key * 3 || attempt != (int) key || from != STATES[(int) (key % STATES.length)] || to != from
                    || !why.equals(from.name()) || key <= last[0]) {
                torn.set(true);
            }
            last[0] = key;
            read[0]++;
        };
        writer.start();
        long lost = 0;
        while (written.getCount() > 0) {
            lost += ring.drain(check);
        }
        lost += ring.drain(check);
        writer.join();
        assertTrue(!torn.get(), "an entry was torn or out of order");
        assertEquals(total, read[0] + lost, "read " + read[0] + ", lost " + lost);
        assertEquals(total - 1, last[0], "the newest entry is read");
    }
}
