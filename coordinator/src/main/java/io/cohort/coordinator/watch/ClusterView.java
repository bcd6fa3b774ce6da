package io.cohort.coordinator.watch;

import io.cohort.coordinator.core.TaskState;
import io.cohort.proto.v1.StackFrame;
import io.cohort.proto.v1.TaskError;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The cluster's recent picture, built on a thread of its own from what {@link Recorder} wrote:
 * workers and their slots, the task stream, recent failures, sessions' progress, rates and the
 * history of recent tasks. Every part is bounded, and the snapshot says what was cut.
 *
 * <p>Not thread-safe: {@link #poll} and {@link #snapshot} run on one thread (the view's);
 * {@link #history} is answered from a copy made there (see {@link Watch}).
 */
final class ClusterView {
    static final int MAX_BARS = 2000;
    static final long BAR_WINDOW_NANOS = 10_000_000_000L;
    static final int MAX_FAILURES = 30;
    static final int MAX_SESSIONS = 50;
    static final int MAX_HISTORIES = 10_000;
    static final int LOST_WORKERS_SHOWN = 10;
    static final int RATE_POINTS = 120;
    /** Queued tasks whose queue time is followed; beyond, the oldest are forgotten (their wait goes unmeasured). */
    static final int MAX_QUEUE_CLOCKS = 1_000_000;

    private final Recorder recorder;
    private final Samples samples;
    private final LongSupplier nanoClock;
    private final long originNanos;
    private final long originWallMillis;

    private final Map<Long, WorkerRow> workersByStream = new HashMap<>();
    private final Map<String, WorkerRow> workers = new LinkedHashMap<>();
    private final ArrayDeque<WorkerRow> lostWorkers = new ArrayDeque<>();
    private final HashMap<Long, Long> queuedAt = new HashMap<>();
    private final HashMap<Long, OnWorker> onWorkers = new HashMap<>();
    private final ArrayDeque<Bar> bars = new ArrayDeque<>();
    private final ArrayDeque<Failure> failures = new ArrayDeque<>();
    private final LinkedHashMap<String, SessionRow> sessions = new LinkedHashMap<>();
    private final LinkedHashMap<Long, History> histories = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, History> eldest) {
            if (size() > MAX_HISTORIES) {
                historiesForgotten++;
                return true;
            }
            return false;
        }
    };
    private final long[] completedPerSecond = new long[RATE_POINTS];
    private final long[] failedPerSecond = new long[RATE_POINTS];
    private int ratePoints;
    private long lastCompleted;
    private long lastFailed;
    private long nextSession = 1;
    private long transitionsLost;
    private long barsDropped;
    private long failuresSeen;
    private long historiesForgotten;
    private long queueClocksForgotten;
    private volatile int activeWorkers;
    private volatile int drainingWorkers;
    private volatile long workersGone;

    ClusterView(Recorder recorder, Samples samples, LongSupplier nanoClock, long wallMillisNow) {
        this.recorder = recorder;
        this.samples = samples;
        this.nanoClock = nanoClock;
        this.originNanos = nanoClock.getAsLong();
        this.originWallMillis = wallMillisNow;
    }

    private static final class WorkerRow {
        final String id;
        String host = "";
        long pid;
        int slots;
        String state = "active";
        String reason = "";
        int assigned;
        int running;
        /** When each slot's lane is free again (nanos); Long.MAX_VALUE while a started task holds it. */
        long[] laneFreeAt = new long[0];

        WorkerRow(String id) {
            this.id = id;
        }

        void slots(int n) {
            slots = n;
            laneFreeAt = java.util.Arrays.copyOf(laneFreeAt, n);
        }

        /** The lane free soonest, or -1 when every lane holds a started task. */
        int freeLane() {
            int best = -1;
            for (int i = 0; i < laneFreeAt.length; i++) {
                if (laneFreeAt[i] != Long.MAX_VALUE && (best < 0 || laneFreeAt[i] < laneFreeAt[best])) {
                    best = i;
                }
            }
            return best;
        }
    }

    private static final class OnWorker {
        final WorkerRow worker;
        long since;
        int lane = -1;

        OnWorker(WorkerRow worker, long since) {
            this.worker = worker;
            this.since = since;
        }
    }

    private record Bar(String worker, int lane, long start, long end, TaskState state, long taskKey) {}

    private record Failure(long nanos, long taskKey, int attempt, String worker, String session, String className,
                           String message, String trace) {}

    private static final class SessionRow {
        final long number;
        final String client;
        long submitted;
        long succeeded;
        long failed;
        long cancelled;
        long queued;
        long onWorkers;
        boolean ended;

        SessionRow(long number, String client) {
            this.number = number;
            this.client = client;
        }

        String label() {
            return "#" + number + (client.isEmpty() ? "" : " " + client);
        }
    }

    private record Hop(long nanos, int attempt, TaskState from, TaskState to, String why, String worker) {}

    private static final class History {
        final String session;
        final List<Hop> hops = new ArrayList<>(5);

        History(String session) {
            this.session = session;
        }
    }

    /** Takes in what the recorder wrote since the last poll. */
    void poll() {
        Recorder.Notice n;
        while ((n = recorder.notices.poll()) != null) {
            notice(n);
        }
        transitionsLost += recorder.transitions.drain(this::transition);
        recorder.runTimes.drain(samples::runTime);
        recorder.journalCommits.drain(samples::journalCommit);
        int draining = 0;
        for (WorkerRow w : workers.values()) {
            draining += "draining".equals(w.state) ? 1 : 0;
        }
        drainingWorkers = draining;
        activeWorkers = workers.size() - draining;
        long now = nanoClock.getAsLong();
        while (!bars.isEmpty() && now - bars.peekFirst().end() > BAR_WINDOW_NANOS) {
            bars.pollFirst();
        }
    }

    /** Once a second: the rates' next point. */
    void second() {
        long completed = recorder.get(TaskCount.SUCCEEDED) + recorder.get(TaskCount.FAILED)
                + recorder.get(TaskCount.WORKER_LOST) + recorder.get(TaskCount.CANCELLED) + recorder.get(TaskCount.TIMED_OUT);
        long failed = recorder.get(TaskCount.FAILED) + recorder.get(TaskCount.WORKER_LOST) + recorder.get(TaskCount.TIMED_OUT);
        System.arraycopy(completedPerSecond, 1, completedPerSecond, 0, RATE_POINTS - 1);
        System.arraycopy(failedPerSecond, 1, failedPerSecond, 0, RATE_POINTS - 1);
        completedPerSecond[RATE_POINTS - 1] = completed - lastCompleted;
        failedPerSecond[RATE_POINTS - 1] = failed - lastFailed;
        lastCompleted = completed;
        lastFailed = failed;
        ratePoints = Math.min(RATE_POINTS, ratePoints + 1);
    }

    private void notice(Recorder.Notice n) {
        if (n instanceof Recorder.Notice.Welcomed w) {
            WorkerRow row = workers.computeIfAbsent(w.workerId(), WorkerRow::new);
            row.state = "active";
            workersByStream.put(w.stream(), row);
        } else if (n instanceof Recorder.Notice.Attached a) {
            WorkerRow row = workersByStream.get(a.stream());
            if (row != null) {
                row.host = a.host();
                row.pid = a.pid();
                row.slots(a.slots());
                row.state = a.draining() ? "draining" : "active";
            }
        } else if (n instanceof Recorder.Notice.Draining d) {
            WorkerRow row = workersByStream.get(d.stream());
            if (row != null) {
                row.state = "draining";
            }
        } else if (n instanceof Recorder.Notice.DrainAsked d) {
            WorkerRow row = workers.get(d.workerId());
            if (row != null) {
                row.state = "draining";
            }
        } else if (n instanceof Recorder.Notice.Gone g) {
            WorkerRow row = workersByStream.remove(g.stream());
            if (row != null && workers.get(row.id) == row) {
                workers.remove(row.id);
                row.state = "draining".equals(row.state) ? "left" : "lost";
                row.reason = g.reason();
                lostWorkers.addLast(row);
                workersGone++;
                if (lostWorkers.size() > LOST_WORKERS_SHOWN) {
                    lostWorkers.pollFirst();
                }
            }
        } else if (n instanceof Recorder.Notice.SessionEnded s) {
            SessionRow row = sessions.get(s.sessionId());
            if (row != null) {
                row.ended = true;
            }
        } else if (n instanceof Recorder.Notice.Failed f) {
            recorder.pendingFailures.decrementAndGet();
            failure(f);
        }
    }

    private void failure(Recorder.Notice.Failed f) {
        failuresSeen++;
        TaskError e = f.error();
        StringBuilder trace = new StringBuilder();
        trace.append(e.getClassName()).append(e.getMessage().isEmpty() ? "" : ": " + e.getMessage());
        for (StackFrame frame : e.getFramesList()) {
            trace.append("\n\tat ").append(frame.getDeclaringClass()).append('.').append(frame.getMethodName()).append('(')
                    .append(frame.getFileName().isEmpty() ? "Unknown Source" : frame.getFileName())
                    .append(frame.getLineNumber() > 0 ? ":" + frame.getLineNumber() : "").append(')');
        }
        History h = histories.get(f.taskKey());
        failures.addLast(new Failure(f.nanos(), f.taskKey(), f.attempt(), e.getWorkerId(), h == null ? "" : h.session,
                e.getClassName(), e.getMessage(), trace.toString()));
        if (failures.size() > MAX_FAILURES) {
            failures.pollFirst();
        }
    }

    private void transition(long nanos, long key, int attempt, TaskState from, TaskState to, String why, String worker,
                            String sessionId, String clientName) {
        SessionRow session = sessions.get(sessionId);
        if (session == null) {
            session = new SessionRow(nextSession++, clientName);
            sessions.put(sessionId, session);
            trimSessions();
        }
        sessionCounts(session, from, to);
        History h = histories.get(key);
        if (h == null) {
            h = new History(session.label());
            histories.put(key, h);
        }
        h.hops.add(new Hop(nanos, attempt, from, to, why, worker));
        if (from == TaskState.QUEUED) {
            Long since = queuedAt.remove(key);
            if (since != null && to == TaskState.ASSIGNED) {
                samples.queueWait(nanos - since);
            }
        }
        if (to == TaskState.QUEUED) {
            if (queuedAt.size() >= MAX_QUEUE_CLOCKS) {
                queueClocksForgotten += queuedAt.size();
                queuedAt.clear();
            }
            queuedAt.put(key, nanos);
        }
        onWorker(nanos, key, from, to, worker);
    }

    private void sessionCounts(SessionRow s, TaskState from, TaskState to) {
        if (from == TaskState.NEW) {
            s.submitted++;
        }
        s.queued += (to == TaskState.QUEUED ? 1 : 0) - (from == TaskState.QUEUED ? 1 : 0);
        s.onWorkers += (to.onWorker() ? 1 : 0) - (from.onWorker() ? 1 : 0);
        switch (to) {
            case SUCCEEDED -> s.succeeded++;
            case FAILED, WORKER_LOST, TIMED_OUT, REJECTED -> s.failed++;
            case CANCELLED -> s.cancelled++;
            default -> { }
        }
    }

    /** Keeps the newest sessions: ended ones go first, oldest first. */
    private void trimSessions() {
        if (sessions.size() <= MAX_SESSIONS) {
            return;
        }
        Iterator<SessionRow> it = sessions.values().iterator();
        while (it.hasNext()) {
            if (it.next().ended) {
                it.remove();
                return;
            }
        }
        sessions.remove(sessions.keySet().iterator().next());
    }

    /** Slots' lanes: a task takes the lane free soonest when it starts, or when it ends if no start was heard. */
    private void onWorker(long nanos, long key, TaskState from, TaskState to, String worker) {
        if (from.onWorker() && !to.onWorker()) {   // it left its worker: its bar is drawn
            OnWorker o = onWorkers.remove(key);
            if (o != null) {
                WorkerRow w = o.worker;
                if (from == TaskState.RUNNING) {
                    w.running--;
                } else {
                    w.assigned--;
                }
                int lane = o.lane >= 0 ? o.lane : w.freeLane();
                long start = o.lane >= 0 ? o.since : lane >= 0 ? Math.max(o.since, w.laneFreeAt[lane]) : o.since;
                if (lane >= 0) {
                    w.laneFreeAt[lane] = nanos;
                }
                bar(new Bar(w.id, lane >= 0 ? lane : w.slots, start, nanos, to, key));
            }
        }
        if (to == TaskState.ASSIGNED && worker != null) {
            WorkerRow w = workers.computeIfAbsent(worker, WorkerRow::new);
            w.assigned++;
            onWorkers.put(key, new OnWorker(w, nanos));
        } else if (to == TaskState.RUNNING) {
            OnWorker o = onWorkers.get(key);
            if (o == null && worker != null) {
                o = new OnWorker(workers.computeIfAbsent(worker, WorkerRow::new), nanos);
                o.worker.assigned++;
                onWorkers.put(key, o);
            }
            if (o != null) {
                o.worker.assigned--;
                o.worker.running++;
                o.since = nanos;
                o.lane = o.worker.freeLane();
                if (o.lane >= 0) {
                    o.worker.laneFreeAt[o.lane] = Long.MAX_VALUE;
                }
            }
        }
    }

    private void bar(Bar b) {
        bars.addLast(b);
        if (bars.size() > MAX_BARS) {
            bars.pollFirst();
            barsDropped++;
        }
    }

    private long millis(long nanos) {
        return originWallMillis + (nanos - originNanos) / 1_000_000;
    }

    /** The history of one recent task, oldest first, or null when it is not kept. */
    List<Map<String, Object>> history(long taskKey) {
        History h = histories.get(taskKey);
        if (h == null) {
            return null;
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Hop hop : h.hops) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("time", millis(hop.nanos()));
            m.put("attempt", hop.attempt());
            m.put("from", hop.from().name());
            m.put("to", hop.to().name());
            m.put("why", hop.why());
            m.put("worker", hop.worker() == null ? "" : hop.worker());
            out.add(m);
        }
        return out;
    }

    /** The session a kept task belongs to (its label), or null. */
    String sessionOf(long taskKey) {
        History h = histories.get(taskKey);
        return h == null ? null : h.session;
    }

    /** Workers attached and active, and draining, as of the last poll (metrics' gauges; any thread). */
    int activeWorkers() {
        return activeWorkers;
    }

    int drainingWorkers() {
        return drainingWorkers;
    }

    /** Workers lost or gone since the coordinator started (any thread). */
    long workersGone() {
        return workersGone;
    }

    /** Everything the page shows, as JSON-ready maps and lists. */
    Map<String, Object> snapshot() {
        Map<String, Object> s = new LinkedHashMap<>();
        long now = nanoClock.getAsLong();
        s.put("time", millis(now));
        Map<String, Object> counts = new LinkedHashMap<>();
        for (TaskCount c : TaskCount.values()) {
            counts.put(c.name().toLowerCase(java.util.Locale.ROOT), recorder.get(c));
        }
        s.put("counts", counts);
        List<Object> ws = new ArrayList<>();
        for (WorkerRow w : workers.values()) {
            ws.add(worker(w));
        }
        for (WorkerRow w : lostWorkers) {
            ws.add(worker(w));
        }
        s.put("workers", ws);
        s.put("completedPerSecond", tail(completedPerSecond));
        s.put("failedPerSecond", tail(failedPerSecond));
        List<Object> bs = new ArrayList<>(bars.size());
        for (Bar b : bars) {
            bs.add(List.of(b.worker(), b.lane(), (b.start() - now) / 1_000_000.0, (b.end() - now) / 1_000_000.0,
                    b.state().name(), b.taskKey()));
        }
        s.put("bars", bs);
        List<Object> fs = new ArrayList<>();
        for (Failure f : failures) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("time", millis(f.nanos()));
            m.put("task", f.taskKey());
            m.put("attempt", f.attempt());
            m.put("worker", f.worker());
            m.put("session", f.session());
            m.put("className", f.className());
            m.put("message", f.message());
            m.put("trace", f.trace());
            fs.add(m);
        }
        s.put("failures", fs);
        List<Object> ss = new ArrayList<>();
        for (SessionRow r : sessions.values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("session", r.label());
            m.put("submitted", r.submitted);
            m.put("succeeded", r.succeeded);
            m.put("failed", r.failed);
            m.put("cancelled", r.cancelled);
            m.put("queued", r.queued);
            m.put("onWorkers", r.onWorkers);
            m.put("ended", r.ended);
            ss.add(m);
        }
        s.put("sessions", ss);
        Map<String, Object> limits = new LinkedHashMap<>();
        limits.put("bars", MAX_BARS);
        limits.put("barWindowSeconds", BAR_WINDOW_NANOS / 1_000_000_000L);
        limits.put("barsDropped", barsDropped);
        limits.put("failures", MAX_FAILURES);
        limits.put("failuresSeen", failuresSeen);
        limits.put("failuresDropped", recorder.droppedFailures());
        limits.put("sessions", MAX_SESSIONS);
        limits.put("histories", MAX_HISTORIES);
        limits.put("historiesForgotten", historiesForgotten);
        limits.put("transitionsLost", transitionsLost);
        limits.put("queueClocksForgotten", queueClocksForgotten);
        s.put("retention", limits);
        return s;
    }

    private static Map<String, Object> worker(WorkerRow w) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", w.id);
        m.put("host", w.host);
        m.put("pid", w.pid);
        m.put("slots", w.slots);
        m.put("running", w.running);
        m.put("assigned", w.assigned);
        m.put("state", w.state);
        m.put("reason", w.reason);
        return m;
    }

    private long[] tail(long[] points) {
        return java.util.Arrays.copyOfRange(points, RATE_POINTS - ratePoints, RATE_POINTS);
    }
}
