package io.cohort.coordinator.core;

import java.util.ArrayList;
import java.util.List;

/** A bounded log of task transitions, newest overwriting oldest; {@link #of} tells one task's story. */
final class Story {
    private record Entry(long time, long taskKey, int attempt, TaskState from, TaskState to, String why, String worker) {
        @Override
        public String toString() {
            return "t=" + time + " attempt " + attempt + ": " + from + " -> " + to + " (" + why
                    + (worker == null ? "" : " " + worker) + ")";
        }
    }

    private final Entry[] ring;
    private long written;

    Story(int capacity) {
        ring = new Entry[capacity];
    }

    /** {@code why} should be a constant and {@code worker} an existing string: no formatting here. */
    void record(long time, long taskKey, int attempt, TaskState from, TaskState to, String why, String worker) {
        ring[(int) (written++ % ring.length)] = new Entry(time, taskKey, attempt, from, to, why, worker);
    }

    List<String> of(long taskKey) {
        List<String> out = new ArrayList<>();
        for (long i = Math.max(0, written - ring.length); i < written; i++) {
            Entry e = ring[(int) (i % ring.length)];
            if (e.taskKey == taskKey) {
                out.add(e.toString());
            }
        }
        return out;
    }
}
