package io.cohort.coordinator.server;

import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.core.Event;
import io.cohort.coordinator.core.Scheduler;
import io.cohort.coordinator.journal.Journal;
import io.cohort.proto.v1.DrainResponse;
import io.cohort.proto.v1.StatusResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Owns the {@link Scheduler} and runs it on one thread, its <em>home</em>: gRPC handlers put
 * items on its inbox, and a step on the home thread drains many at a time, feeds the
 * scheduler, then writes each touched stream one batched message (when the stream is ready).
 * Every write and close happens on the home thread.
 *
 * <p>Why a home rather than a thread of its own: the coordinator's server runs its streams on
 * one network thread and makes that thread the home. A message then wakes one thread, which
 * reads it, schedules, and writes the answers without waking another (W3 measured about 10
 * context switches per round trip in the coordinator with a scheduler thread of its own).
 *
 * <p>This class drives the steps (the inbox, the ticks, the journal's commit before any
 * write); {@link InboundMessages} turns what streams send into events and {@link CommandRouter}
 * turns the scheduler's commands into writes.
 *
 * <p>Thread-safe: {@link #open}, {@link #status}, {@link #drain} and {@link #close} may be
 * called from any thread.
 */
public final class SchedulerLoop implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SchedulerLoop.class.getName());
    /** How often the scheduler hears the time (Event.Tick) when nothing else happens. */
    public static final long TICK_MS = 100;
    private static final int MAX_DRAIN = 8192;
    /** Inbound messages requested ahead per stream: one in flight while one is processed. */
    private static final int INBOUND_AHEAD = 2;

    private record Inbound(Conn conn, Object message) {}

    /** {@code clean}: the other side half-closed the stream, rather than it breaking. */
    private record Ended(Conn conn, boolean clean) {}

    private record Ready(Conn conn) {}

    /** Brings a step about when nothing else does, so the scheduler's clock moves. */
    private static final Object TICK = new Object();

    private final Scheduler core;
    /** Null when the coordinator keeps no journal. */
    private final Journal journal;
    private final LongSupplier clockMillis;
    private final ConcurrentLinkedQueue<Object> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean stepDue = new AtomicBoolean();
    private final AtomicLong streamIds = new AtomicLong();
    private final ScheduledExecutorService home;
    /** Whether {@link #home} is ours to shut down (no network thread was given). */
    private final boolean ownsHome;
    private volatile ScheduledFuture<?> ticks;
    private final CommandRouter router;
    private final InboundMessages inbound;
    private final Consumer<Event> events = this::apply;

    // Home thread only.
    /** Answers to send once the batch is journalled. */
    private final List<Runnable> afterCommit = new ArrayList<>();
    private final List<Object> batch = new ArrayList<>();
    private final long backedUpBytes;
    private long nextDrainRequest;
    private long lastTick;
    private boolean closed;

    public SchedulerLoop(Scheduler core, LongSupplier clockMillis) {
        this(core, null, clockMillis, null, Long.MAX_VALUE);
    }

    /**
     * With a journal (may be null), which the loop then owns: it writes it and closes it. Runs
     * on {@code home} (one thread, which must run tasks in order), or on a thread of its own
     * when {@code home} is null. A client stream with more than {@code backedUpBytes} unwritten
     * is reported to the scheduler as backed up (it starts no more of that session's tasks).
     */
    public SchedulerLoop(Scheduler core, Journal journal, LongSupplier clockMillis, ScheduledExecutorService home,
                         long backedUpBytes) {
        this.core = core;
        this.backedUpBytes = backedUpBytes;
        this.journal = journal;
        this.clockMillis = clockMillis;
        this.router = new CommandRouter(journal);
        this.inbound = new InboundMessages(this, events, router);
        this.ownsHome = home == null;
        this.home = home != null ? home : Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cohort-scheduler");
            t.setDaemon(true);
            return t;
        });
    }

    /** Told, on the scheduler thread, of each stream event applied and each command made; must not block. */
    public interface Observer {
        Observer NONE = new Observer() {
            @Override
            public void event(Event e) {
            }

            @Override
            public void command(Command c) {
            }
        };

        void event(Event e);

        void command(Command c);

        /** A batch was written to the journal in {@code nanos}. */
        default void journalCommitted(long nanos) {
        }
    }

    /** Sets the one observer; call before {@link #start}. */
    public void observe(Observer o) {
        router.observe(o);
    }

    public void start() {
        home.execute(() -> {
            lastTick = clockMillis.getAsLong();
            core.apply(new Event.Tick(lastTick), router);
        });
        ticks = home.scheduleAtFixedRate(() -> enqueue(TICK), TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    /** Puts an item on the inbox, and a step on the home thread unless one is due already. */
    private void enqueue(Object item) {
        inbox.add(item);
        if (stepDue.compareAndSet(false, true)) {
            try {
                home.execute(this::step);
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                // the home is shutting down: nothing will be processed any more
            }
        }
    }

    /**
     * Sets up a new server stream; returns its request observer. Call from the service method
     * (it disables auto-request, which must happen before the method returns).
     */
    public <Req> StreamObserver<Req> open(Conn.Kind kind, StreamObserver<?> responses) {
        ServerCallStreamObserver<?> call = (ServerCallStreamObserver<?>) responses;
        Conn conn = new Conn(streamIds.incrementAndGet(), kind, call);
        // With the default 32 KiB threshold a stream of small messages never reports "not
        // ready", so batches never grow under load (DESIGN.md).
        call.setOnReadyThreshold(1);
        call.disableAutoRequest();
        call.setOnReadyHandler(() -> enqueue(new Ready(conn)));
        call.setOnCancelHandler(() -> enqueue(new Ended(conn, false)));
        call.request(INBOUND_AHEAD);
        return new StreamObserver<>() {
            @Override
            public void onNext(Req message) {
                enqueue(new Inbound(conn, message));
            }

            @Override
            public void onError(Throwable t) {
                enqueue(new Ended(conn, false));
            }

            @Override
            public void onCompleted() {
                enqueue(new Ended(conn, true));
            }
        };
    }

    /**
     * Answers with a snapshot taken on the scheduler thread, sent once the journal holds what
     * it shows (a status that says a task is queued must survive a crash right after it).
     */
    public void status(StreamObserver<StatusResponse> response) {
        enqueue((Runnable) () -> {
            StatusResponse status;
            try {
                status = core.status();
            } catch (RuntimeException e) {
                response.onError(Status.INTERNAL.withDescription("status failed: " + e).asRuntimeException());
                throw e;
            }
            afterCommit.add(() -> {
                response.onNext(status);
                response.onCompleted();
            });
        });
    }

    /** Drains a worker; NOT_FOUND if no attached worker has that id. */
    public void drain(String workerId, StreamObserver<DrainResponse> response) {
        enqueue((Runnable) () -> {
            long request = nextDrainRequest++;
            router.expectDrain(request, workerId, response);
            core.apply(new Event.AdminDrain(request, workerId), router);
        });
    }

    /** Stops stepping, waiting a bounded time; streams are left to the server's shutdown. */
    @Override
    public void close() {
        ScheduledFuture<?> t = ticks;
        if (t != null) {
            t.cancel(false);
        }
        java.util.concurrent.CompletableFuture<Void> stopped = new java.util.concurrent.CompletableFuture<>();
        try {
            home.execute(() -> {
                closed = true;
                if (journal != null) {
                    journal.close();
                }
                stopped.complete(null);
            });
            stopped.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.RejectedExecutionException | java.util.concurrent.ExecutionException
                 | java.util.concurrent.TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, "the scheduler did not stop cleanly: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (ownsHome) {
            home.shutdownNow();
        }
    }

    /** On the home thread: takes what the inbox holds, applies it, schedules, journals, then writes. */
    private void step() {
        stepDue.set(false);   // items from now on bring another step
        if (closed) {
            inbox.clear();
            return;
        }
        Object item;
        while (batch.size() < MAX_DRAIN && (item = inbox.poll()) != null) {
            batch.add(item);
        }
        if (!inbox.isEmpty() && stepDue.compareAndSet(false, true)) {
            home.execute(this::step);   // the rest in a step of its own: others on this thread get a turn
        }
        for (Object each : batch) {
            process(each);
        }
        batch.clear();
        long now = clockMillis.getAsLong();
        if (now - lastTick >= TICK_MS) {
            lastTick = now;
            guarded(() -> core.apply(new Event.Tick(now), router), null);
        }
        guarded(() -> core.dispatch(router), null);
        if (journal != null) {
            commitJournal();
        }
        for (Runnable answer : afterCommit) {
            guarded(answer, null);
        }
        afterCommit.clear();
        for (Conn c : router.touched) {
            c.touched = false;
            guarded(() -> flush(c), c);
        }
        router.touched.clear();
    }

    /**
     * Before any stream hears of what the batch decided. A journal that cannot be written stops
     * the coordinator (only daemons keep one): carrying on would promise what it cannot keep,
     * and a restart recovers what was written.
     */
    private void commitJournal() {
        try {
            long start = System.nanoTime();
            journal.commit();
            router.observer().journalCommitted(System.nanoTime() - start);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "stopping: " + e.getMessage(), e);
            Runtime.getRuntime().halt(70);
        }
    }

    private void process(Object item) {
        if (item instanceof Inbound in) {
            guarded(() -> inbound.receive(in.conn(), in.message()), in.conn());
        } else if (item instanceof Ready r) {
            guarded(() -> flush(r.conn()), r.conn());
        } else if (item instanceof Ended e) {
            guarded(() -> ended(e.conn(), e.clean()), e.conn());
        } else if (item instanceof Runnable task) {
            guarded(task, null);
        }
    }

    /**
     * Writes what the stream is ready for. A client stream that keeps more than its budget
     * unwritten is not reading its results: the scheduler hears so, and hears again once the
     * stream has written down to half of it.
     */
    private void flush(Conn c) {
        c.flush();
        if (c.kind == Conn.Kind.CLIENT && c.state == Conn.State.OPEN) {
            long unwritten = c.unwrittenBytes();
            boolean backedUp = c.backedUp ? unwritten > backedUpBytes / 2 : unwritten > backedUpBytes;
            if (backedUp != c.backedUp) {
                c.backedUp = backedUp;
                apply(new Event.SessionBackedUp(c.id, backedUp));
            }
        }
    }

    /** Runs one step; a failure is logged and closes only the stream it concerns. */
    private void guarded(Runnable step, Conn conn) {
        try {
            step.run();
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.ERROR, "scheduler step failed" + (conn == null ? "" : " on stream " + conn.id), e);
            if (conn != null && conn.state != Conn.State.CLOSED) {
                try {
                    forget(conn, true);
                    conn.close(Status.INTERNAL.withDescription("coordinator error: " + e));
                } catch (RuntimeException again) {
                    LOG.log(System.Logger.Level.ERROR, "could not close stream " + conn.id, again);
                }
            }
        }
    }

    private void ended(Conn c, boolean clean) {
        if (c.state == Conn.State.CLOSED) {
            return;
        }
        if (c.state == Conn.State.OPEN) {
            forget(c, clean);
        }
        c.finish();
    }

    /** Tells the scheduler the stream is gone (a client's session ends only if it ended cleanly). */
    private void forget(Conn c, boolean clean) {
        if (router.forget(c)) {
            apply(c.kind == Conn.Kind.WORKER ? new Event.WorkerLost(c.id, clean ? Event.WorkerLost.STREAM_ENDED
                    : "its connection broke (cancelled or reset without a goodbye)")
                    : clean ? new Event.SessionClosed(c.id) : new Event.SessionLost(c.id));
        }
    }

    /** Hands one event to the scheduler (home thread only). */
    void apply(Event e) {
        core.apply(e, router);
        router.observer().event(e);
    }
}
