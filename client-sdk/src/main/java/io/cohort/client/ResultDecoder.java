package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.common.Codec;
import io.cohort.common.CodecException;
import io.cohort.common.Payloads;
import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.ElementError;
import io.cohort.proto.v1.TaskError;
import io.cohort.proto.v1.TaskResult;
import io.grpc.ManagedChannel;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.RejectedExecutionException;

/**
 * Completes a task's future from its result: the value decoded (fetched first when it
 * travels in chunks), or the exception the result stands for, rebuilt from its class when it
 * loads here. Thread-safe.
 */
final class ResultDecoder {
    private final ManagedChannel channel;
    private final Codec codec;
    private final ClassLoader loader;

    ResultDecoder(ManagedChannel channel, Codec codec, ClassLoader loader) {
        this.channel = channel;
        this.codec = codec;
        this.loader = loader;
    }

    @SuppressWarnings("unchecked")
    void complete(TaskFuture<?> future, TaskResult r) {
        TaskFuture<Object> f = (TaskFuture<Object>) future;
        f.original = null;
        boolean chunk = f.chunk;
        f.setWorkerId(r.getWorkerId());
        try {
            switch (r.getStatus()) {
                case SUCCEEDED -> {
                    Object value = r.hasValuePayload() ? codec.decode(fetchResult(f, r), loader)
                            : r.hasValue() ? codec.decode(r.getValue(), loader) : null;
                    f.complete(chunk ? chunkOutcome((Object[]) value, r.getElementErrorsList()) : value);
                }
                case FAILED -> f.completeExceptionally(rebuild(r.getError()));
                case TIMED_OUT -> f.completeExceptionally(new TaskTimeoutException(message(r.getError(), "timed out")));
                case WORKER_LOST -> f.completeExceptionally(new WorkerLostException(message(r.getError(), "worker lost")));
                case CANCELLED -> f.completeExceptionally(new CancellationException(message(r.getError(), "cancelled")));
                default -> f.completeExceptionally(refused(r));
            }
        } catch (CodecException | ClassCastException e) {
            f.completeExceptionally(new CohortException("cannot decode the result of task "
                    + f.describe() + ": " + e.getMessage(), e));
        } catch (PayloadLost e) {
            f.completeExceptionally(e.getCause());
        }
    }

    /** A task the coordinator refused: a budget's refusal fails it as a full executor's submit does. */
    private static RuntimeException refused(TaskResult r) {
        String message = message(r.getError(), "refused: " + r.getStatus());
        return RejectedExecutionException.class.getName().equals(r.getError().getClassName())
                ? new RejectedExecutionException(message) : new CohortException(message);
    }

    private static final class PayloadLost extends RuntimeException {
        PayloadLost(CohortException cause) {
            super(cause);
        }
    }

    /** Fetches a result that travels in chunks; blocks this (callback or getter) thread meanwhile. */
    private ByteString fetchResult(TaskFuture<?> f, TaskResult r) {
        try {
            return Payloads.fetch(channel, r.getValuePayload());
        } catch (RuntimeException e) {
            throw new PayloadLost(new CohortException("cannot fetch the result of task " + f.describe() + " ("
                    + r.getValuePayload().getSize() + " bytes) from the coordinator: " + Payloads.describe(e), e));
        }
    }

    private ChunkOutcome chunkOutcome(Object[] values, List<ElementError> errors) {
        if (errors.isEmpty()) {
            return new ChunkOutcome(values, null);
        }
        Throwable[] failures = new Throwable[values.length];
        for (ElementError e : errors) {
            failures[e.getIndex()] = rebuild(e.getError());
        }
        return new ChunkOutcome(values, failures);
    }

    /** The task's own exception when it can be rebuilt here, else a description of it. */
    Throwable rebuild(TaskError error) {
        if (!error.getSerialized().isEmpty()) {
            try {
                if (codec.decode(error.getSerialized(), loader) instanceof Throwable t) {
                    return t;
                }
            } catch (CodecException notHere) {
                // its class is not on this side: describe it instead
            }
        }
        return new RemoteTaskException(error.getClassName(), error.getMessage(), error.getWorkerId(),
                TaskErrors.frames(error));
    }

    private static String message(TaskError error, String fallback) {
        String m = error.getMessage().isEmpty() ? fallback : error.getMessage();
        return error.getWorkerId().isEmpty() || m.contains(error.getWorkerId())
                ? m : m + " (worker " + error.getWorkerId() + ")";
    }

    /** What a chunk task returns: one value or failure per input ({@code failures} null when none failed). */
    record ChunkOutcome(Object[] values, Throwable[] failures) {}
}
