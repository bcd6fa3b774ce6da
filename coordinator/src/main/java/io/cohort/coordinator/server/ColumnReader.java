package io.cohort.coordinator.server;

import com.google.protobuf.ByteString;
import io.cohort.common.ColumnBatches;
import io.cohort.common.Columns;
import io.cohort.coordinator.core.Event;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.StartedColumns;
import io.cohort.proto.v1.SubmitColumns;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.ValueColumns;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Turns the column batches a stream sent into the scheduler's events, after checking their
 * shape: a batch whose columns disagree is refused whole ({@link Malformed}), before any of
 * its tasks is applied. Argument and value bytes stay slices of the received message.
 */
final class ColumnReader {
    /** A batch that breaks the rules of columns.proto. */
    static final class Malformed extends Exception {
        Malformed(String problem) {
            super(problem, null, false, false);
        }
    }

    private ColumnReader() {}

    /**
     * An argument smaller than this share of its message is copied out of it: a slice keeps the
     * whole received buffer alive for as long as its task is unanswered, and the budgets count
     * only the task's own bytes. So a kept buffer is at most this many times what it is charged.
     */
    static final int SLICE_SHARE = 8;

    /** {@code messageBytes}: the size of the received message {@code c} came in. */
    static void submits(long stream, SubmitColumns c, long messageBytes, Consumer<Event> sink) throws Malformed {
        int count = c.getTaskIdsCount();
        check(Columns.checkCount("function", c.getFunctionCount(), count, false));
        check(Columns.checkIndexes("function", c.getFunctionList(), c.getDigestsCount()));
        check(Columns.checkCount("policy", c.getPolicyCount(), count, true));
        check(Columns.checkIndexes("policy", c.getPolicyList(), c.getPoliciesCount()));
        if (c.getPolicyCount() == 0 && c.getPoliciesCount() > 1) {
            check("policy is empty but policies has " + c.getPoliciesCount() + " entries");
        }
        check(Columns.checkCount("flags", c.getFlagsCount(), count, false));
        check(Columns.checkEnds("arg_ends", c.getArgEndsList(), count, c.getArgs().size()));
        TaskPolicy only = c.getPoliciesCount() == 0 ? TaskPolicy.getDefaultInstance() : c.getPolicies(0);
        ByteString args = c.getArgs();
        // Each task keeps its digest: one of its own, not a slice that keeps the message alive.
        ByteString[] digests = new ByteString[c.getDigestsCount()];
        for (int d = 0; d < digests.length; d++) {
            digests[d] = ByteString.copyFrom(c.getDigests(d).asReadOnlyByteBuffer());
        }
        for (int i = 0; i < count; i++) {
            ByteString argument = Columns.slice(args, c.getArgEndsList(), c.getFlagsList(), i);
            if (argument != null && (long) argument.size() * SLICE_SHARE < messageBytes) {
                argument = ByteString.copyFrom(argument.asReadOnlyByteBuffer());
            }
            TaskSpec spec = Columns.spec(digests[c.getFunction(i)], argument, c.getFlags(i));
            TaskPolicy policy = c.getPolicyCount() == 0 ? only : c.getPolicies(c.getPolicy(i));
            sink.accept(new Event.TaskSubmitted(stream, c.getTaskIds(i), spec, policy));
        }
    }

    static void started(long stream, StartedColumns c, Consumer<Event> sink) throws Malformed {
        int count = c.getTaskKeysCount();
        check(Columns.checkCount("attempts", c.getAttemptsCount(), count, false));
        for (int i = 0; i < count; i++) {
            sink.accept(new Event.TaskStartedOnWorker(stream, c.getTaskKeys(i), c.getAttempts(i)));
        }
    }

    /** Checks a worker's value columns, so that {@link #values} cannot fail half way. */
    static void checkValues(ValueColumns c) throws Malformed {
        int count = c.getTaskKeysCount();
        check(Columns.checkCount("attempts", c.getAttemptsCount(), count, false));
        check(Columns.checkCount("run_nanos", c.getRunNanosCount(), count, true));
        check(Columns.checkCount("flags", c.getFlagsCount(), count, false));
        check(Columns.checkEnds("value_ends", c.getValueEndsList(), count, c.getValues().size()));
    }

    /** The results of {@code c}, which {@link #checkValues} passed. */
    static void values(long stream, ValueColumns c, Consumer<Event> sink) {
        for (WorkerTaskResult r : ColumnBatches.values(c)) {
            sink.accept(new Event.TaskEnded(stream, r));
        }
    }

    /**
     * Function definitions with bodies of their own: one kept for the session's life must not
     * keep the whole message it came in (parsed as slices of one buffer) alive with it.
     */
    static List<FunctionDef> owned(List<FunctionDef> functions) {
        List<FunctionDef> owned = new ArrayList<>(functions.size());
        for (FunctionDef f : functions) {
            owned.add(f.toBuilder().setBody(ByteString.copyFrom(f.getBody().asReadOnlyByteBuffer()))
                    .setDigest(ByteString.copyFrom(f.getDigest().asReadOnlyByteBuffer())).build());
        }
        return owned;
    }

    private static void check(String problem) throws Malformed {
        if (problem != null) {
            throw new Malformed(problem);
        }
    }
}
