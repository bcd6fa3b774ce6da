package io.cohort.coordinator.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.proto.v1.TaskPolicy;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The queue on its own: lanes per demand, levels per priority, lazy removal, requeue at the front. */
class TaskQueueTest {
    private final Step step = new Step();
    private final TaskQueue queue = new TaskQueue(step);
    private final ClientSession session = new ClientSession(1, "s-1", "c", 16);
    private long keys;

    private Task queued(int priority, Demand demand) {
        Task t = new Task(++keys, keys, session, Sim.BODY, TaskPolicy.newBuilder().setPriority(priority).build(), null, demand);
        t.state = TaskState.QUEUED;
        session.live.put(t.taskId, t);
        return t;
    }

    @Test
    void requeuedTasksGoFirstAndLevelsAreServedHighestFirst() {
        Task a = queued(0, Demand.NONE);
        Task b = queued(0, Demand.NONE);
        Task urgent = queued(5, Demand.NONE);
        queue.enqueue(a, false);
        queue.enqueue(b, false);
        queue.enqueue(urgent, false);
        assertTrue(step.dirty);
        assertEquals(List.of(5, 0), List.copyOf(queue.levels.keySet()));

        TaskQueue.Lane lane = session.queues.get(0).lanes.get(Demand.NONE);
        queue.take(lane);   // a goes to a worker, then comes back
        queue.enqueue(a, true);
        assertSame(a, lane.head());
        assertEquals(3, queue.validate(session), "a, b and the urgent one");
    }

    @Test
    void aCancelledTaskIsSkippedAndEmptyLanesLevelsAndQueuesAreDropped() {
        Demand gpu = Demand.of(TaskPolicy.newBuilder().putResources("gpu", 1).build());
        Task plain = queued(0, Demand.NONE);
        Task onGpu = queued(0, gpu);
        queue.enqueue(plain, false);
        queue.enqueue(onGpu, false);
        assertEquals(1, queue.constrainedLanes.size());

        queue.unqueue(onGpu);
        onGpu.state = TaskState.CANCELLED;
        session.live.remove(onGpu.taskId);
        assertTrue(queue.constrainedLanes.isEmpty());
        assertNull(session.queues.get(0).lanes.get(gpu));
        queue.validate(session);

        queue.dropSession(session);
        assertTrue(queue.levels.isEmpty());
        assertTrue(session.queues.isEmpty());
        queue.validate();
    }
}
