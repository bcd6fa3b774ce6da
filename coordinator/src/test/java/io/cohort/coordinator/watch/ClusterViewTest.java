package io.cohort.coordinator.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.coordinator.core.TaskState;
import io.cohort.proto.v1.StackFrame;
import io.cohort.proto.v1.TaskError;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The dashboard's picture built from what the scheduler's thread recorded, on a fake clock. */
class ClusterViewTest {
    private static final String SECRET = "session-id-that-is-a-capability";
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final Recorder recorder = new Recorder(nanos::get, 1024);
    private final List<Long> queueWaits = new ArrayList<>();
    private final List<Long> runTimes = new ArrayList<>();
    private final ClusterView view = new ClusterView(recorder, new Samples() {
        @Override
        public void queueWait(long n) {
            queueWaits.add(n);
        }

        @Override
        public void runTime(long n) {
            runTimes.add(n);
        }

        @Override
        public void journalCommit(long n) {
        }
    }, nanos::get, 1_700_000_000_000L);

    private void move(long key, TaskState from, TaskState to, String worker) {
        recorder.moved(key, from == TaskState.NEW ? 0 : 1, from, to, to.name().toLowerCase(), worker, SECRET, "etl-job");
    }

    private void later(long millis) {
        nanos.addAndGet(millis * 1_000_000);
    }

    @Test
    @SuppressWarnings("unchecked")
    void workersLanesSessionsFailuresAndHistoriesComeFromTheRecordedTransitions() {
        recorder.command(new Command.WelcomeWorker(7, "w-1", 10_000));
        recorder.event(new Event.WorkerAttached(7, "", "host-a", 4242, 2, 2, Map.of(), Set.of(), false));
        move(1, TaskState.NEW, TaskState.QUEUED, null);
        move(2, TaskState.NEW, TaskState.QUEUED, null);
        later(5);
        move(1, TaskState.QUEUED, TaskState.ASSIGNED, "w-1");
        move(2, TaskState.QUEUED, TaskState.ASSIGNED, "w-1");
        later(1);
        move(1, TaskState.ASSIGNED, TaskState.RUNNING, null);
        view.poll();
        Map<String, Object> s = view.snapshot();
        Map<String, Object> w = ((List<Map<String, Object>>) s.get("workers")).get(0);
        assertEquals("w-1", w.get("id"));
        assertEquals("host-a", w.get("host"));
        assertEquals(2, w.get("slots"));
        assertEquals(1, w.get("running"));
        assertEquals(1, w.get("assigned"), "task 2 is prefetched");
        assertEquals(List.of(5_000_000L, 5_000_000L), queueWaits, "queued to assigned");
        assertEquals(1, view.activeWorkers());

        later(20);
        move(1, TaskState.RUNNING, TaskState.SUCCEEDED, "w-1");
        later(3);
        // Its result came with no started notice: it takes the lane free soonest, from when that lane was free.
        move(2, TaskState.ASSIGNED, TaskState.FAILED, "w-1");
        recorder.event(new Event.TaskEnded(7, WorkerTaskResult.newBuilder().setTaskKey(2).setAttempt(1)
                .setStatus(TaskStatus.FAILED).setRunNanos(3_000_000).setError(TaskError.newBuilder()
                        .setClassName("java.lang.IllegalStateException").setMessage("bad row 17").setWorkerId("w-1")
                        .addFrames(StackFrame.newBuilder().setDeclaringClass("com.example.Etl").setMethodName("load")
                                .setFileName("Etl.java").setLineNumber(42)))
                .build()));
        view.poll();
        s = view.snapshot();
        List<List<Object>> bars = (List<List<Object>>) s.get("bars");
        assertEquals(2, bars.size());
        assertEquals(List.of("w-1", 0, "SUCCEEDED", 1L), List.of(bars.get(0).get(0), bars.get(0).get(1),
                bars.get(0).get(4), bars.get(0).get(5)));
        assertEquals(-23.0, (double) bars.get(0).get(2), 1e-9, "started 23 ms ago");
        assertEquals(-3.0, (double) bars.get(0).get(3), 1e-9);
        assertEquals(List.of("w-1", 1, "FAILED", 2L), List.of(bars.get(1).get(0), bars.get(1).get(1),
                bars.get(1).get(4), bars.get(1).get(5)), "the other lane");
        assertEquals(List.of(3_000_000L), runTimes, "the worker's own measure");

        Map<String, Object> failure = ((List<Map<String, Object>>) s.get("failures")).get(0);
        assertEquals(2L, failure.get("task"));
        assertEquals("#1 etl-job", failure.get("session"));
        assertEquals("java.lang.IllegalStateException: bad row 17\n\tat com.example.Etl.load(Etl.java:42)", failure.get("trace"));
        Map<String, Object> session = ((List<Map<String, Object>>) s.get("sessions")).get(0);
        assertEquals("#1 etl-job", session.get("session"));
        assertEquals(2L, session.get("submitted"));
        assertEquals(1L, session.get("succeeded"));
        assertEquals(1L, session.get("failed"));
        assertFalse(s.toString().contains(SECRET), "a session's id is a capability: never shown");

        List<Map<String, Object>> history = view.history(1);
        assertEquals(List.of("QUEUED", "ASSIGNED", "RUNNING", "SUCCEEDED"), history.stream().map(h -> h.get("to")).toList());
        assertEquals("w-1", history.get(1).get("worker"));
        assertEquals(null, view.history(99), "never seen");

        Map<String, Object> counts = (Map<String, Object>) s.get("counts");
        assertEquals(2L, counts.get("submitted"));
        assertEquals(2L, counts.get("started"), "a result without a started notice still ran");
        assertEquals(0L, counts.get("queued"));
        assertEquals(0L, counts.get("running"));

        recorder.event(new Event.WorkerLost(7, "stream ended"));
        view.poll();
        w = ((List<Map<String, Object>>) view.snapshot().get("workers")).get(0);
        assertEquals("lost", w.get("state"));
        assertEquals("stream ended", w.get("reason"));
        assertEquals(0, view.activeWorkers());
        assertEquals(1, view.workersGone());
    }

    @Test
    void aRunningTaskRequeuedAfterItsWorkerWasLostCountsARetry() {
        move(5, TaskState.NEW, TaskState.QUEUED, null);
        move(5, TaskState.QUEUED, TaskState.ASSIGNED, "w-9");
        move(5, TaskState.ASSIGNED, TaskState.RUNNING, null);
        move(5, TaskState.RUNNING, TaskState.QUEUED, "w-9");
        move(5, TaskState.QUEUED, TaskState.ASSIGNED, "w-8");
        move(5, TaskState.ASSIGNED, TaskState.QUEUED, "w-8");   // handed back unstarted: no retry
        assertEquals(1, recorder.get(TaskCount.RETRIED));
        assertEquals(1, recorder.get(TaskCount.STARTED));
        assertEquals(1, recorder.get(TaskCount.QUEUED));
        assertEquals(0, recorder.get(TaskCount.ASSIGNED) + recorder.get(TaskCount.RUNNING));
        view.poll();
        assertTrue(view.history(5).size() == 6);
    }
}
