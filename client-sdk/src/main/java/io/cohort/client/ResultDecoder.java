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
                    f.succeed(chunk ? chunkOutcome(value, r) : value);
                }
                case FAILED -> f.fail(rebuild(r.getError()));
                case TIMED_OUT -> f.fail(new TaskTimeoutException(message(r.getError(), "timed out")));
                case WORKER_LOST -> f.fail(new WorkerLostException(message(r.getError(), "worker lost")));
                case CANCELLED -> f.fail(new CancellationException(message(r.getError(), "cancelled")));
                default -> f.fail(refused(r));
            }
        } catch (CodecException | ClassCastException e) {
            f.fail(new CohortException("cannot decode the result of task "
                    + f.describe() + ": " + e.getMessage(), e));
        } catch (PayloadLost e) {
            f.fail(e.getCause());
        } catch (BadResult e) {
            f.fail(new CohortException("task " + f.describe() + ": " + e.getMessage()));
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

    /**
     * A chunk's values and failures, checked: what the worker says is not trusted to fit the
     * chunk. A bad one fails the chunk's future (the caller's try) and no other.
     */
    private ChunkOutcome chunkOutcome(Object value, TaskResult r) {
        if (!(value instanceof Object[] values)) {
            throw new BadResult("the result of a map chunk must be an Object[], worker " + r.getWorkerId()
                    + " sent " + (value == null ? "null" : "a " + value.getClass().getName()));
        }
        List<ElementError> errors = r.getElementErrorsList();
        if (errors.isEmpty()) {
            return new ChunkOutcome(values, null);
        }
        Throwable[] failures = new Throwable[values.length];
        for (ElementError e : errors) {
            int i = e.getIndex();   // a uint32: over 2^31 it reads negative
            if (i < 0 || i >= values.length) {
                throw new BadResult("worker " + r.getWorkerId() + " sent an error for element "
                        + Integer.toUnsignedString(i) + " of a map chunk of " + values.length + " elements");
            }
            failures[i] = rebuild(e.getError());
        }
        return new ChunkOutcome(values, failures);
    }

    /** A result that does not fit its task, from a worker that is broken or hostile. */
    private static final class BadResult extends RuntimeException {
        BadResult(String message) {
            super(message);
        }
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
