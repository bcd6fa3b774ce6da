package io.cohort.coordinator.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TaskStateTest {
    @Test
    void tableAllowsExactlyTheDocumentedTransitions() {
        Set<String> allowed = new java.util.TreeSet<>();
        for (TaskState from : TaskState.values()) {
            for (TaskState to : TaskState.values()) {
                if (TaskState.allowed(from, to)) {
                    allowed.add(from + "->" + to);
                }
            }
        }
        assertEquals(new java.util.TreeSet<>(Set.of(
                "NEW->QUEUED", "NEW->REJECTED",
                "QUEUED->ASSIGNED", "QUEUED->CANCELLED", "QUEUED->REJECTED",
                "ASSIGNED->RUNNING", "ASSIGNED->QUEUED", "ASSIGNED->SUCCEEDED", "ASSIGNED->FAILED",
                "ASSIGNED->CANCELLED", "ASSIGNED->TIMED_OUT",
                "RUNNING->QUEUED", "RUNNING->SUCCEEDED", "RUNNING->FAILED", "RUNNING->CANCELLED",
                "RUNNING->TIMED_OUT", "RUNNING->WORKER_LOST")), allowed);
    }

    @Test
    void doneStatesAreTerminal() {
        EnumSet<TaskState> done = EnumSet.noneOf(TaskState.class);
        for (TaskState s : TaskState.values()) {
            if (s.done()) {
                done.add(s);
            }
        }
        assertEquals(EnumSet.of(TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED, TaskState.TIMED_OUT,
                TaskState.WORKER_LOST, TaskState.REJECTED), done);
    }
}
