package io.cohort.common;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.AssignColumns;
import io.cohort.proto.v1.AttachResponse;
import io.cohort.proto.v1.ResultColumns;
import io.cohort.proto.v1.SessionResponse;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskResult;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import java.util.ArrayList;
import java.util.List;

/**
 * What a worker or client reads from a coordinator message: its per-task assigns or results
 * together with those in its columns, each task's bytes a slice of the message (no copy).
 */
public final class ColumnBatches {
    private ColumnBatches() {}

    /** The assigns of the message: its columns' first, then its TaskAssigns; malformed columns throw IllegalArgumentException. */
    public static List<TaskAssign> assigns(AttachResponse response) {
        if (!response.hasAssignColumns()) {
            return response.getAssignsList();
        }
        List<TaskAssign> all = assigns(response.getAssignColumns());
        all.addAll(response.getAssignsList());
        return all;
    }

    /** The assigns of {@code c}, arguments sliced from its blob; a batch that breaks its rules throws. */
    public static List<TaskAssign> assigns(AssignColumns c) {
        int count = c.getTaskKeysCount();
        String problem = Columns.checkCount("attempts", c.getAttemptsCount(), count, false);
        if (problem == null) {
            problem = Columns.checkCount("function", c.getFunctionCount(), count, false);
        }
        if (problem == null) {
            problem = Columns.checkIndexes("function", c.getFunctionList(), c.getDigestsCount());
        }
        if (problem == null) {
            problem = Columns.checkCount("timeouts_ms", c.getTimeoutsMsCount(), count, true);
        }
        if (problem == null) {
            problem = Columns.checkCount("name", c.getNameCount(), count, true);
        }
        if (problem == null) {
            problem = Columns.checkIndexes("name", c.getNameList(), c.getNamesCount());
        }
        if (problem == null) {
            problem = Columns.checkCount("flags", c.getFlagsCount(), count, false);
        }
        if (problem == null) {
            problem = Columns.checkEnds("arg_ends", c.getArgEndsList(), count, c.getArgs().size());
        }
        if (problem != null) {
            throw new IllegalArgumentException("the coordinator sent a malformed assign batch: " + problem);
        }
        List<TaskAssign> assigns = new ArrayList<>(count);
        ByteString args = c.getArgs();
        for (int i = 0; i < count; i++) {
            TaskSpec spec = Columns.spec(c.getDigests(c.getFunction(i)), args, c.getArgEndsList(), c.getFlagsList(), i);
            TaskAssign.Builder a = TaskAssign.newBuilder().setTaskKey(c.getTaskKeys(i)).setAttempt(c.getAttempts(i))
                    .setSpec(spec);
            if (c.getTimeoutsMsCount() > 0) {
                a.setTimeoutMs(c.getTimeoutsMs(i));
            }
            if (c.getNameCount() > 0) {
                a.setName(c.getNames(c.getName(i)));
            }
            assigns.add(a.build());
        }
        return assigns;
    }

    /** Every result of the message; a column batch that breaks its rules throws IllegalArgumentException. */
    public static List<TaskResult> results(SessionResponse response) {
        if (!response.hasResultColumns()) {
            return response.getResultsList();
        }
        ResultColumns c = response.getResultColumns();
        int count = c.getTaskIdsCount();
        String problem = Columns.checkCount("worker", c.getWorkerCount(), count, false);
        if (problem == null) {
            problem = Columns.checkCount("flags", c.getFlagsCount(), count, false);
        }
        if (problem == null) {
            problem = Columns.checkIndexes("worker", c.getWorkerList(), c.getWorkersCount());
        }
        if (problem == null) {
            problem = Columns.checkEnds("value_ends", c.getValueEndsList(), count, c.getValues().size());
        }
        if (problem != null) {
            throw new IllegalArgumentException("the coordinator sent a malformed result batch: " + problem);
        }
        List<TaskResult> all = new ArrayList<>(response.getResultsCount() + count);
        all.addAll(response.getResultsList());
        ByteString values = c.getValues();
        for (int i = 0; i < count; i++) {
            TaskResult.Builder r = TaskResult.newBuilder().setTaskId(c.getTaskIds(i)).setStatus(TaskStatus.SUCCEEDED)
                    .setWorkerId(c.getWorkers(c.getWorker(i)));
            ByteString value = Columns.slice(values, c.getValueEndsList(), c.getFlagsList(), i);
            if (value != null) {
                r.setValue(value);
            }
            all.add(r.build());
        }
        return all;
    }

    /** A worker message's started notices: its own, then those in its columns (which must be well formed). */
    public static List<io.cohort.proto.v1.WorkerTaskStarted> started(io.cohort.proto.v1.AttachRequest request) {
        List<io.cohort.proto.v1.WorkerTaskStarted> all = new ArrayList<>(request.getStartedList());
        io.cohort.proto.v1.StartedColumns c = request.getStartedColumns();
        for (int i = 0; i < c.getTaskKeysCount(); i++) {
            all.add(io.cohort.proto.v1.WorkerTaskStarted.newBuilder().setTaskKey(c.getTaskKeys(i))
                    .setAttempt(c.getAttempts(i)).build());
        }
        return all;
    }

    /** A worker message's results: its own, then those in its value columns (which must be well formed). */
    public static List<io.cohort.proto.v1.WorkerTaskResult> workerResults(io.cohort.proto.v1.AttachRequest request) {
        List<io.cohort.proto.v1.WorkerTaskResult> all = new ArrayList<>(request.getResultsList());
        all.addAll(values(request.getValueColumns()));
        return all;
    }

    /** The results in value columns whose shape was checked: each succeeded, its value a slice of the blob. */
    public static List<io.cohort.proto.v1.WorkerTaskResult> values(io.cohort.proto.v1.ValueColumns c) {
        List<io.cohort.proto.v1.WorkerTaskResult> results = new ArrayList<>(c.getTaskKeysCount());
        for (int i = 0; i < c.getTaskKeysCount(); i++) {
            io.cohort.proto.v1.WorkerTaskResult.Builder r = io.cohort.proto.v1.WorkerTaskResult.newBuilder()
                    .setTaskKey(c.getTaskKeys(i)).setAttempt(c.getAttempts(i)).setStatus(TaskStatus.SUCCEEDED)
                    .setRunNanos(c.getRunNanosCount() == 0 ? 0 : c.getRunNanos(i));
            ByteString value = Columns.slice(c.getValues(), c.getValueEndsList(), c.getFlagsList(), i);
            if (value != null) {
                r.setValue(value);
            }
            results.add(r.build());
        }
        return results;
    }
}
