package io.cohort.coordinator.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The status's counts and its tasks/s over the last minute, on a clock moved by hand. */
class TallyTest {
    @Test
    void countsFailuresAndRetriesAndAveragesTheLastMinute() {
        Tally tally = new Tally();
        for (int i = 0; i < 120; i++) {
            tally.ended(TaskState.SUCCEEDED, 1_000);
        }
        tally.ended(TaskState.FAILED, 1_500);
        tally.ended(TaskState.TIMED_OUT, 2_000);
        tally.ended(TaskState.WORKER_LOST, 2_000);
        tally.ended(TaskState.CANCELLED, 2_000);
        tally.addRetry();
        assertEquals(124, tally.completed());
        assertEquals(3, tally.failed(), "cancelled is not a failure");
        assertEquals(1, tally.retried());
        assertEquals(124 / 60.0, tally.perSecond(2_500), 1e-9);
        assertEquals(3 / 60.0, tally.perSecond(61_000), 1e-9, "second 1 has left the window, second 2 not yet");
        assertEquals(0.0, tally.perSecond(62_000), 1e-9);
        tally.ended(TaskState.SUCCEEDED, 500_000);
        assertEquals(1 / 60.0, tally.perSecond(500_999), 1e-9, "a long gap clears the whole ring");
    }
}
