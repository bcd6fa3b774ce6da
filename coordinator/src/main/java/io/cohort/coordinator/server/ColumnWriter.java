package io.cohort.coordinator.server;

import com.google.protobuf.ByteString;
import io.cohort.common.Columns;
import io.cohort.proto.v1.AssignColumns;
import io.cohort.proto.v1.ResultColumns;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the column batches of one outbound message from the scheduler's assigns and results,
 * reading their fields: nothing is encoded per task, and argument and value bytes are linked
 * (or, when small, copied once) into the blob. Confined to the scheduler thread.
 */
final class ColumnWriter {
    private ColumnWriter() {}

    /** Whether an assign travels in columns. */
    static boolean fits(TaskAssign a) {
        return Columns.fits(a.getSpec());
    }

    /** Whether a result travels in columns: it succeeded with its value inline and no failed element. */
    static boolean fits(TaskResult r) {
        return r.getStatus() == TaskStatus.SUCCEEDED && r.getElementErrorsCount() == 0 && !r.hasValuePayload()
                && !r.hasError();
    }

    /** About what a task adds to a column batch. */
    static long size(TaskAssign a) {
        return 24L + a.getSpec().getArgument().size() + a.getName().length();
    }

    static long size(TaskResult r) {
        return 16L + r.getValue().size();
    }

    /** One message's assigns. */
    static final class Assigns {
        private final AssignColumns.Builder b = AssignColumns.newBuilder();
        private final Columns.Blob args = new Columns.Blob();
        private final Table<ByteString> digests = new Table<>();
        private final Table<String> names = new Table<>();
        private boolean timeouts;

        void add(TaskAssign a) {
            TaskSpec spec = a.getSpec();
            int n = b.getTaskKeysCount();
            b.addTaskKeys(a.getTaskKey()).addAttempts(a.getAttempt());
            int function = digests.indexOf(spec.getFunctionDigest());
            if (function == b.getDigestsCount()) {
                b.addDigests(spec.getFunctionDigest());
            }
            b.addFunction(function);
            if (a.getTimeoutMs() != 0 && !timeouts) {
                timeouts = true;
                for (int i = 0; i < n; i++) {
                    b.addTimeoutsMs(0);
                }
            }
            if (timeouts) {
                b.addTimeoutsMs(a.getTimeoutMs());
            }
            if (!a.getName().isEmpty() && names.isEmpty()) {
                names.indexOf("");
                b.addNames("");
                for (int i = 0; i < n; i++) {
                    b.addName(0);
                }
            }
            if (!names.isEmpty()) {
                int name = names.indexOf(a.getName());
                if (name == b.getNamesCount()) {
                    b.addNames(a.getName());
                }
                b.addName(name);
            }
            ByteString argument = spec.hasArgument() ? spec.getArgument() : null;
            b.addArgEnds(args.append(argument));
            b.addFlags(Columns.flags(argument, spec.getChunk()));
        }

        AssignColumns build() {
            return b.setArgs(args.build()).build();
        }
    }

    /** One message's results. */
    static final class Results {
        private final ResultColumns.Builder b = ResultColumns.newBuilder();
        private final Columns.Blob values = new Columns.Blob();
        private final Table<String> workers = new Table<>();

        void add(TaskResult r) {
            b.addTaskIds(r.getTaskId());
            int worker = workers.indexOf(r.getWorkerId());
            if (worker == b.getWorkersCount()) {
                b.addWorkers(r.getWorkerId());
            }
            b.addWorker(worker);
            ByteString value = r.hasValue() ? r.getValue() : null;
            b.addValueEnds(values.append(value));
            b.addFlags(Columns.flags(value, false));
        }

        ResultColumns build() {
            return b.setValues(values.build()).build();
        }
    }

    /** A table of distinct entries: a batch names few functions or names, but may name many workers. */
    private static final class Table<T> {
        private static final int SCAN_UP_TO = 8;
        private final List<T> entries = new ArrayList<>(2);
        private java.util.Map<T, Integer> index;

        /** The entry's index, adding it at the end when new. */
        int indexOf(T entry) {
            if (index != null) {
                Integer i = index.putIfAbsent(entry, entries.size());
                if (i != null) {
                    return i;
                }
                entries.add(entry);
                return entries.size() - 1;
            }
            for (int i = 0; i < entries.size(); i++) {
                if (entries.get(i) == entry || entries.get(i).equals(entry)) {
                    return i;
                }
            }
            entries.add(entry);
            if (entries.size() > SCAN_UP_TO) {
                index = new java.util.HashMap<>();
                for (int i = 0; i < entries.size(); i++) {
                    index.put(entries.get(i), i);
                }
            }
            return entries.size() - 1;
        }

        boolean isEmpty() {
            return entries.isEmpty();
        }
    }
}
