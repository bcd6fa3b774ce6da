package io.cohort.worker;

import com.google.protobuf.ByteString;
import io.cohort.common.Columns;
import io.cohort.proto.v1.StartedColumns;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.ValueColumns;
import io.cohort.proto.v1.WorkerTaskResult;
import io.cohort.proto.v1.WorkerTaskStarted;

/** The worker's side of the column batches going out: started notices and values. */
final class WorkerColumns {
    private WorkerColumns() {}

    /** Whether a result travels in columns: it succeeded with its value inline and no failed element. */
    static boolean fits(WorkerTaskResult r) {
        return r.getStatus() == TaskStatus.SUCCEEDED && r.getElementErrorsCount() == 0 && !r.hasValuePayload()
                && !r.hasError();
    }

    /** One outbound message's started notices and values. */
    static final class Outbound {
        private StartedColumns.Builder started;
        private ValueColumns.Builder values;
        private Columns.Blob blob;

        void add(WorkerTaskStarted s) {
            if (started == null) {
                started = StartedColumns.newBuilder();
            }
            started.addTaskKeys(s.getTaskKey()).addAttempts(s.getAttempt());
        }

        /** Adds a result that {@link #fits}. */
        void add(WorkerTaskResult r) {
            if (values == null) {
                values = ValueColumns.newBuilder();
                blob = new Columns.Blob();
            }
            ByteString value = r.hasValue() ? r.getValue() : null;
            values.addTaskKeys(r.getTaskKey()).addAttempts(r.getAttempt()).addRunNanos(r.getRunNanos())
                    .addValueEnds(blob.append(value)).addFlags(Columns.flags(value, false));
        }

        /** About what a result adds to the message. */
        static int size(WorkerTaskResult r) {
            return 24 + r.getValue().size();
        }

        void into(io.cohort.proto.v1.AttachRequest.Builder b) {
            if (started != null) {
                b.setStartedColumns(started);
            }
            if (values != null) {
                b.setValueColumns(values.setValues(blob.build()));
            }
        }
    }
}
