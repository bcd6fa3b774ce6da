package io.cohort.coordinator.core;

/**
 * What the coordinator holds for its clients, at most: the limits that keep one client (or a
 * few) from running it out of memory. Bytes are counted as encoded task specs and results.
 *
 * @param tasksPerClient      unanswered tasks one session may have ({@code --max-tasks-per-client})
 * @param taskBytesPerClient  bytes of unanswered tasks one session may have ({@code --max-task-bytes-per-client})
 * @param taskBytes           bytes of unanswered tasks of all sessions ({@code --max-task-bytes})
 * @param heldBytesPerClient  bytes of results held for one session that is not reading them, while
 *                            it waits to be resumed or is slow to read ({@code --max-held-bytes-per-client});
 *                            past it, no more of its tasks are started
 * @param sessions            open sessions, attached or waiting to be resumed ({@code --max-sessions})
 */
public record Budgets(int tasksPerClient, long taskBytesPerClient, long taskBytes, long heldBytesPerClient,
                      int sessions) {
    /** No limit at all: for tests of other things. */
    public static final Budgets NONE = new Budgets(Integer.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE,
            Long.MAX_VALUE, Integer.MAX_VALUE);

    public Budgets {
        if (tasksPerClient < 1 || taskBytesPerClient < 1 || taskBytes < 1 || heldBytesPerClient < 1 || sessions < 1) {
            throw new IllegalArgumentException("every budget must be at least 1: " + this);
        }
    }

    /**
     * The defaults for a coordinator whose heap may grow to {@code maxHeapBytes}: 40% of it for
     * unanswered tasks, a quarter of that per client (so three clients at their budget leave a
     * fourth its own), the same per client for results it is not reading, and a session per
     * 64 KiB of heap (at least 100).
     */
    public static Budgets forHeap(long maxHeapBytes, int tasksPerClient) {
        long tasks = Math.max(1, maxHeapBytes / 5 * 2);
        long perClient = Math.max(1, tasks / 4);
        int sessions = (int) Math.max(100, Math.min(Integer.MAX_VALUE, maxHeapBytes >> 16));
        return new Budgets(tasksPerClient, perClient, tasks, perClient, sessions);
    }

    public Budgets withTasksPerClient(int n) {
        return new Budgets(n, taskBytesPerClient, taskBytes, heldBytesPerClient, sessions);
    }
}
