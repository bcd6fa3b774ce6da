package io.cohort.coordinator.server;

import io.cohort.coordinator.core.Command;
import io.cohort.coordinator.journal.Journal;
import io.cohort.proto.v1.DrainResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Carries out the scheduler's commands: journal records to the journal, drain answers to the
 * admin who asked, and everything for a stream into that stream's batch, which is listed for
 * the flush at the end of the step. Knows the open streams (those past their hello). Home
 * thread only, except {@link #observe}.
 */
final class CommandRouter implements Consumer<Command> {
    private record PendingDrain(String workerId, StreamObserver<DrainResponse> response) {}

    /** Null when the coordinator keeps no journal. */
    private final Journal journal;
    private volatile SchedulerLoop.Observer observer = SchedulerLoop.Observer.NONE;
    private final Map<Long, Conn> open = new HashMap<>();
    private final Map<Long, PendingDrain> drains = new HashMap<>();
    /** Streams written to in this step, to flush at its end. */
    final List<Conn> touched = new ArrayList<>();

    CommandRouter(Journal journal) {
        this.journal = journal;
    }

    void observe(SchedulerLoop.Observer o) {
        observer = o;
    }

    SchedulerLoop.Observer observer() {
        return observer;
    }

    /** The stream said a good hello: commands for it are written from now on. */
    void opened(Conn c) {
        c.state = Conn.State.OPEN;
        open.put(c.id, c);
    }

    /** Forgets an open stream; true if it was open (the scheduler must then hear that it is gone). */
    boolean forget(Conn c) {
        return open.remove(c.id) != null;
    }

    /** An admin's drain of {@code workerId} under {@code request}, answered by {@link Command.DrainAnswer}. */
    void expectDrain(long request, String workerId, StreamObserver<DrainResponse> response) {
        drains.put(request, new PendingDrain(workerId, response));
    }

    @Override
    public void accept(Command command) {
        observer.command(command);
        if (command instanceof Command.ToJournal j) {
            if (journal != null) {
                journal.add(j);
            }
            return;
        }
        if (command instanceof Command.SessionEnded e) {
            if (journal != null) {
                journal.forgetSession(e.sessionId());
            }
            return;
        }
        if (command instanceof Command.DrainAnswer a) {
            PendingDrain d = drains.remove(a.requestId());
            if (a.found()) {
                d.response().onNext(DrainResponse.getDefaultInstance());
                d.response().onCompleted();
            } else {
                d.response().onError(Status.NOT_FOUND
                        .withDescription("no attached worker has id '" + d.workerId() + "'").asRuntimeException());
            }
            return;
        }
        Command.ToStream c = (Command.ToStream) command;
        Conn conn = c instanceof Command.CloseStream ? open.remove(c.stream()) : open.get(c.stream());
        if (conn == null) {
            return;
        }
        if (c instanceof Command.CloseStream close) {
            conn.close(Status.fromCode(Status.Code.valueOf(close.code().name())).withDescription(close.message()));
            return;
        }
        conn.add(c);
        if (!conn.touched) {
            conn.touched = true;
            touched.add(conn);
        }
    }
}
