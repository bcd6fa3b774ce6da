package io.cohort.worker;

import io.cohort.proto.v1.OutputLine;
import io.cohort.proto.v1.ProcessOutput;
import io.cohort.proto.v1.WorkerProcessOutput;
import io.cohort.proto.v1.WorkerTaskResult;

/**
 * The last check before an item goes into a message to the coordinator: one too large for
 * the stream (over {@link TaskRunner#MAX_RESULT_BYTES}) would make the coordinator end the
 * stream, and every task on this worker would be lost with it. Such an item is replaced by
 * one that fits and fails (or reports) only its own task. Items are made within the limit
 * where they are made (TaskErrors, TaskRunner, process output lines); this is the guard for
 * whatever slips through.
 */
final class OutboundLimit {
    private OutboundLimit() {}

    /** {@code item}, or what fits of it. */
    static Object fit(Object item) {
        if (item instanceof WorkerTaskResult r) {
            String workerId = r.hasError() ? r.getError().getWorkerId() : "";
            return TaskRunner.bounded(r, r.getTaskKey() + "/" + r.getAttempt(), workerId);
        }
        if (item instanceof WorkerProcessOutput o && o.getSerializedSize() > TaskRunner.MAX_RESULT_BYTES) {
            ProcessOutput lines = o.getOutput();
            return o.toBuilder().setOutput(ProcessOutput.newBuilder().setPid(lines.getPid())
                    .addLines(OutputLine.newBuilder().setStderr(true).setText("[" + lines.getLinesCount()
                            + " lines of output (" + o.getSerializedSize() + " bytes) dropped: over the limit of "
                            + TaskRunner.MAX_RESULT_BYTES + " bytes for one message]"))).build();
        }
        return item;
    }
}
