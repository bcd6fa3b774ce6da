package io.cohort.bench.jmh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The journal benchmark's engines really store what they are timed on. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JournalEngineJmhTest {
    private static byte[][] records(long seed) {
        Random r = new Random(seed);
        byte[][] out = new byte[JournalEngineJmh.RECORDS][JournalEngineJmh.RECORD_BYTES];
        for (byte[] record : out) {
            r.nextBytes(record);
        }
        return out;
    }

    @Test
    void rocksDbStoresEveryRecordOfEachBatchUnderItsSequenceNumber(@TempDir Path dir) throws Exception {
        byte[][] first = records(1);
        byte[][] second = records(2);
        try (JournalEngineJmh.Rocks rocks = new JournalEngineJmh.Rocks(dir, true)) {
            rocks.append(0, first);
            rocks.append(JournalEngineJmh.RECORDS, second);
            assertArrayEquals(first[0], rocks.get(0));
            assertArrayEquals(first[63], rocks.get(63));
            assertArrayEquals(second[5], rocks.get(64 + 5));
            assertNull(rocks.get(2L * JournalEngineJmh.RECORDS));
        }
    }

    @Test
    void aSingleNodeRatisGroupCommitsOneLogEntryPerBatch(@TempDir Path dir) throws Exception {
        try (JournalEngineJmh.Ratis ratis = new JournalEngineJmh.Ratis(dir, false, false)) {
            ratis.append(0, records(1));
            ratis.append(JournalEngineJmh.RECORDS, records(2));
            assertEquals(2, ratis.applied());
        }
    }
}
