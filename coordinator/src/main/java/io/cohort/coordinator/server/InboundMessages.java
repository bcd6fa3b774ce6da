package io.cohort.coordinator.server;

import io.cohort.common.Protocol;
import io.cohort.coordinator.core.Event;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.TaskCancel;
import io.cohort.proto.v1.TaskSubmit;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerProcessOutput;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerTaskStarted;
import io.grpc.Status;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Turns what a stream sends into scheduler events: first its hello (the protocol version
 * checked, then the stream is open), then a client's functions, submits and cancels, or a
 * worker's started notices, process output, results and draining. A malformed message is a
 * protocol violation of that stream alone. Home thread only.
 */
final class InboundMessages {
    private static final System.Logger LOG = System.getLogger(SchedulerLoop.class.getName());

    /** Where events go: straight to the loop (no hop on the hot path), or as a sink for column readers. */
    private final SchedulerLoop loop;
    private final Consumer<Event> events;
    private final CommandRouter router;

    InboundMessages(SchedulerLoop loop, Consumer<Event> events, CommandRouter router) {
        this.loop = loop;
        this.events = events;
        this.router = router;
    }

    /** One message from the stream; asks for the next unless the stream closed. */
    void receive(Conn c, Object message) {
        if (c.state == Conn.State.CLOSED) {
            return;
        }
        if (message instanceof Services.Malformed m) {
            if (c.state == Conn.State.AWAIT_HELLO) {
                refuse(c, Status.INVALID_ARGUMENT.withDescription(m.problem()));
            } else {
                loop.apply(new Event.ProtocolViolation(c.id, m.problem()));
            }
        } else if (c.kind == Conn.Kind.CLIENT) {
            clientMessage(c, (SessionRequest) message);
        } else {
            workerMessage(c, (AttachRequest) message);
        }
        if (c.state != Conn.State.CLOSED) {
            c.request(1);
        }
    }

    private void clientMessage(Conn c, SessionRequest r) {
        if (c.state == Conn.State.AWAIT_HELLO) {
            if (!r.hasHello()) {
                refuse(c, Status.FAILED_PRECONDITION.withDescription("expected hello as the first message of the session"));
                return;
            }
            if (!versionOk(c, r.getHello().getProtocolVersion())) {
                return;
            }
            router.opened(c);
            loop.apply(new Event.SessionOpened(c.id, r.getHello().getClientName(), r.getHello().getResumeSessionId()));
        } else if (r.hasHello()) {
            loop.apply(new Event.ProtocolViolation(c.id, "hello sent twice"));
            return;
        }
        if (r.getFunctionsCount() > 0) {
            loop.apply(new Event.FunctionsDefined(c.id, ColumnReader.owned(r.getFunctionsList())));
        }
        if (r.hasColumns()) {
            try {
                ColumnReader.submits(c.id, r.getColumns(), r.getSerializedSize(), events);
            } catch (ColumnReader.Malformed m) {
                loop.apply(new Event.ProtocolViolation(c.id, "malformed submit columns: " + m.getMessage()));
                return;
            }
        }
        for (TaskSubmit s : r.getSubmitsList()) {
            loop.apply(new Event.TaskSubmitted(c.id, s.getTaskId(), s.getSpec(), s.getPolicy()));
        }
        for (TaskCancel x : r.getCancelsList()) {
            loop.apply(new Event.CancelRequested(c.id, x.getTaskId(), x.getInterrupt(), x.getSignal()));
        }
    }

    private void workerMessage(Conn c, AttachRequest r) {
        if (c.state == Conn.State.AWAIT_HELLO) {
            if (!r.hasHello()) {
                refuse(c, Status.FAILED_PRECONDITION.withDescription("expected hello as the first message of the attachment"));
                return;
            }
            WorkerHello h = r.getHello();
            if (!versionOk(c, h.getProtocolVersion())) {
                return;
            }
            router.opened(c);
            loop.apply(new Event.WorkerAttached(c.id, h.getWorkerId(), h.getHost(), h.getPid(), h.getSlots(),
                    h.getPrefetch(), h.getResourcesMap(), new LinkedHashSet<>(h.getLabelsList()), r.getDraining(),
                    h.getMaxPrefetch()));
        } else if (r.hasHello()) {
            loop.apply(new Event.ProtocolViolation(c.id, "hello sent twice"));
            return;
        }
        loop.apply(new Event.WorkerHeard(c.id));
        if (r.hasValueColumns()) {
            try {
                ColumnReader.checkValues(r.getValueColumns());
            } catch (ColumnReader.Malformed m) {
                loop.apply(new Event.ProtocolViolation(c.id, "malformed value columns: " + m.getMessage()));
                return;
            }
        }
        // A started notice whose result is in the same message tells the client nothing it
        // will not learn at once from the result (a result may come without one): under load,
        // where most messages carry both, skipping it halves the per-task work here and on
        // the client's stream.
        boolean anyStarted = r.getStartedCount() > 0 || r.getStartedColumns().getTaskKeysCount() > 0;
        boolean anyEnded = r.getResultsCount() > 0 || r.getValueColumns().getTaskKeysCount() > 0;
        Map<Long, Integer> endedHere = anyStarted && anyEnded ? endedIn(r) : null;
        Consumer<Event> startedSink = e -> {
            Event.TaskStartedOnWorker s = (Event.TaskStartedOnWorker) e;
            if (endedHere == null || !Integer.valueOf(s.attempt()).equals(endedHere.get(s.taskKey()))) {
                loop.apply(s);
            }
        };
        for (WorkerTaskStarted s : r.getStartedList()) {
            startedSink.accept(new Event.TaskStartedOnWorker(c.id, s.getTaskKey(), s.getAttempt()));
        }
        if (r.hasStartedColumns()) {
            try {
                ColumnReader.started(c.id, r.getStartedColumns(), startedSink);
            } catch (ColumnReader.Malformed m) {
                loop.apply(new Event.ProtocolViolation(c.id, "malformed started columns: " + m.getMessage()));
                return;
            }
        }
        // Before the results: a process's last lines precede its end.
        for (WorkerProcessOutput o : r.getProcessOutputList()) {
            loop.apply(new Event.ProcessOutputReported(c.id, o));
        }
        for (WorkerTaskResult res : r.getResultsList()) {
            loop.apply(new Event.TaskEnded(c.id, res));
        }
        if (r.hasValueColumns()) {
            ColumnReader.values(c.id, r.getValueColumns(), events);
        }
        if (r.getDraining()) {
            loop.apply(new Event.WorkerDraining(c.id));
        }
    }

    /** Task key -> attempt of the results in this message (all but RETURNED, which never started). */
    private static Map<Long, Integer> endedIn(AttachRequest r) {
        io.cohort.proto.v1.ValueColumns values = r.getValueColumns();
        Map<Long, Integer> ended = new HashMap<>((r.getResultsCount() + values.getTaskKeysCount()) * 2);
        for (WorkerTaskResult res : r.getResultsList()) {
            if (res.getStatus() != io.cohort.proto.v1.TaskStatus.RETURNED) {
                ended.put(res.getTaskKey(), res.getAttempt());
            }
        }
        for (int i = 0; i < values.getTaskKeysCount(); i++) {
            ended.put(values.getTaskKeys(i), values.getAttempts(i));
        }
        return ended;
    }

    private boolean versionOk(Conn c, int version) {
        if (version == Protocol.VERSION) {
            return true;
        }
        refuse(c, Status.FAILED_PRECONDITION.withDescription("protocol version " + Integer.toUnsignedString(version)
                + " is not supported; this coordinator speaks " + Protocol.VERSION
                + " (run the same Cohort release on clients, workers and the coordinator)"));
        return false;
    }

    /** Closes a stream the scheduler never heard of. */
    private void refuse(Conn c, Status status) {
        LOG.log(System.Logger.Level.INFO, "refused stream {0}: {1}", c.id, status.getDescription());
        c.close(status);
    }
}
