package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.common.Columns;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.SubmitColumns;
import io.cohort.proto.v1.TaskCancel;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskSubmit;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;

/**
 * Cuts the session's queued items into messages: function definitions, then the tasks of the
 * common shape (a defined function and one argument) as columns, then the other tasks one
 * message each, then cancels. Tasks keep their order: one of the common shape that follows
 * another kind starts the next message. Not thread-safe (the session's one writer uses it).
 */
final class SubmitBatcher {
    /** A batch is cut at about this many bytes, well under the message limit. */
    static final int BATCH_BYTES = 1 << 20;
    /**
     * A batch is cut before this many function definitions: the coordinator applies a message's
     * definitions before its tasks and keeps at least 128 unused ones, so none of a message's
     * definitions can be dropped before the tasks that follow it arrive.
     */
    static final int BATCH_FUNCTIONS = 64;

    private SubmitBatcher() {}

    /** Takes items from {@code outbound} (at least one if any) into one message. */
    static SessionRequest next(Queue<Object> outbound) {
        SessionRequest.Builder batch = SessionRequest.newBuilder();
        Columnizer columns = null;
        boolean richSeen = false;
        long bytes = 0;
        int functions = 0;
        Object item;
        while (bytes < BATCH_BYTES && (item = outbound.peek()) != null) {
            if (item instanceof TaskSubmit submit) {
                if (Columns.fits(submit.getSpec())) {
                    if (richSeen) {
                        break;   // it would overtake a task queued before it
                    }
                    if (columns == null) {
                        columns = new Columnizer();
                    }
                    bytes += columns.add(submit);
                } else {
                    batch.addSubmits(submit);
                    bytes += submit.getSerializedSize();
                    richSeen = true;
                }
            } else if (item instanceof FunctionDef def) {
                if (functions++ == BATCH_FUNCTIONS) {
                    break;
                }
                batch.addFunctions(def);
                bytes += def.getSerializedSize();
            } else {
                batch.addCancels((TaskCancel) item);
                bytes += 16;
            }
            outbound.poll();
        }
        if (columns != null) {
            batch.setColumns(columns.build());
        }
        return batch.build();
    }

    /** One message's tasks as columns. */
    private static final class Columnizer {
        private final SubmitColumns.Builder b = SubmitColumns.newBuilder();
        private final Columns.Blob args = new Columns.Blob();
        private final List<ByteString> digests = new ArrayList<>(2);
        private final Map<TaskPolicy, Integer> policies = new IdentityHashMap<>(2);
        private boolean policyColumn;

        /** Adds one task; returns about what it adds to the message. */
        long add(TaskSubmit submit) {
            TaskSpec spec = submit.getSpec();
            b.addTaskIds(submit.getTaskId());
            b.addFunction(indexOf(spec.getFunctionDigest()));
            Integer policy = policies.get(submit.getPolicy());
            if (policy == null) {
                policy = policies.size();
                policies.put(submit.getPolicy(), policy);
                b.addPolicies(submit.getPolicy());
            }
            if (policy != 0 && !policyColumn) {
                policyColumn = true;
                for (int i = 0; i < b.getTaskIdsCount() - 1; i++) {
                    b.addPolicy(0);
                }
            }
            if (policyColumn) {
                b.addPolicy(policy);
            }
            ByteString argument = spec.hasArgument() ? spec.getArgument() : null;
            b.addArgEnds(args.append(argument));
            b.addFlags(Columns.flags(argument, spec.getChunk()));
            return 16 + (argument == null ? 0 : argument.size());
        }

        private int indexOf(ByteString digest) {
            for (int i = 0; i < digests.size(); i++) {
                if (digests.get(i) == digest || digests.get(i).equals(digest)) {
                    return i;
                }
            }
            digests.add(digest);
            b.addDigests(digest);
            return digests.size() - 1;
        }

        SubmitColumns build() {
            return b.setArgs(args.build()).build();
        }
    }
}
