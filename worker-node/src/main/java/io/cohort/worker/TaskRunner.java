package io.cohort.worker;

import com.google.protobuf.ByteString;
import io.cohort.common.Codec;
import io.cohort.common.CodecException;
import io.cohort.common.Payloads;
import io.cohort.common.Protocol;
import io.cohort.common.ShippedCode;
import io.cohort.common.TaskBody;
import io.cohort.common.TaskContext;
import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.ElementError;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskError;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import io.grpc.Channel;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs one assigned task on the calling thread and describes how it ended. Never throws:
 * whatever the task or its decoding throws becomes a FAILED result. Thread-safe; the
 * function cache is shared by all slots of one attachment.
 */
final class TaskRunner {
    /** The most one result may take in a message to the coordinator, with room for the batch around it. */
    static final int MAX_RESULT_BYTES = Protocol.MAX_MESSAGE_BYTES - 64 * 1024;

    private final Codec codec;
    private final ClassLoader loader;
    private final Map<ByteString, ByteString> functionBytes = new ConcurrentHashMap<>();
    /** Decoded functions (or why they cannot be), each holding its loader while it is defined here. */
    private final Map<ByteString, Decoded> functions = new ConcurrentHashMap<>();
    /** Loaders of shipped code; null where none can be had. */
    private final CodeLoaders code;

    /** Where large arguments are fetched and large results offered; null where there is none (a child JVM). */
    private final Channel payloads;
    /** How long a large result stays offered for its client to fetch. */
    private static final long RESULT_OFFER_MINUTES = 10;

    TaskRunner(Codec codec, ClassLoader loader) {
        this(codec, loader, null, null);
    }

    TaskRunner(Codec codec, ClassLoader loader, Channel payloads, CodeLoaders code) {
        this.codec = codec;
        this.loader = loader;
        this.payloads = payloads;
        this.code = code;
    }

    /**
     * A task body ready to run with the loader its classes come from, or the error every task
     * of it fails with: a body that cannot be decoded is tried once per definition, not once
     * per task.
     */
    private record Decoded(TaskBody body, ClassLoader loader, CodeLoaders.Lease lease, TaskError failure) {
        static Decoded failed(TaskError error) {
            return new Decoded(null, null, null, error);
        }

        void release() {
            if (lease != null) {
                lease.release();
            }
        }
    }

    ClassLoader loader() {
        return loader;
    }

    /** The directory of shipped bundles, which child JVMs share; null where there is none. */
    java.nio.file.Path codeCache() {
        return code == null ? null : code.cacheDirectory();
    }

    /** Remembers a function sent on the current stream; decoded when a task first uses it. */
    void define(FunctionDef def) {
        functionBytes.put(def.getDigest(), def.getBody());
    }

    /** Forgets functions the coordinator said no task here uses any more (it sends one again when needed). */
    void forget(List<ByteString> digests) {
        for (ByteString d : digests) {
            functionBytes.remove(d);
            Decoded gone = functions.remove(d);
            if (gone != null) {
                gone.release();
            }
        }
    }

    /** The encoded body of a function sent on the current stream, or null (to hand to a child JVM). */
    ByteString functionBody(ByteString digest) {
        return functionBytes.get(digest);
    }

    /** Forgets the functions of a lost stream. */
    void clearFunctions() {
        functionBytes.clear();
        for (ByteString d : List.copyOf(functions.keySet())) {
            Decoded gone = functions.remove(d);
            if (gone != null) {
                gone.release();
            }
        }
    }

    /** Function definitions held (encoded), decoded or not. */
    int functionsHeld() {
        return functionBytes.size();
    }

    int cachedFunctions() {
        return functions.size();
    }

    WorkerTaskResult run(TaskAssign assign, String workerId) {
        // Shared-object handles used by the task act on behalf of this attempt.
        TaskContext.enterTask(assign.getTaskKey(), assign.getAttempt());
        try {
            return runMarked(assign, workerId);
        } finally {
            TaskContext.exitTask();
        }
    }

    private WorkerTaskResult runMarked(TaskAssign assign, String workerId) {
        WorkerTaskResult.Builder result = WorkerTaskResult.newBuilder()
                .setTaskKey(assign.getTaskKey()).setAttempt(assign.getAttempt());
        TaskSpec spec = assign.getSpec();
        boolean inline = spec.getFunctionDigest().isEmpty();
        Decoded decoded;
        try {
            decoded = inline ? decode(spec.getBody(), workerId) : function(spec.getFunctionDigest(), workerId);
        } catch (RuntimeException e) {
            return failed(result, describe(e, workerId));
        }
        if (decoded.failure() != null) {
            return failed(result, decoded.failure());
        }
        Thread self = Thread.currentThread();
        ClassLoader before = self.getContextClassLoader();
        if (decoded.lease() != null) {
            self.setContextClassLoader(decoded.loader());   // the task's own lookups see its shipped classes
        }
        try {
            return runDecoded(assign, workerId, result, decoded.body(), decoded.loader());
        } finally {
            self.setContextClassLoader(before);
            if (inline) {
                decoded.release();
            }
        }
    }

    private WorkerTaskResult runDecoded(TaskAssign assign, String workerId, WorkerTaskResult.Builder result,
                                        TaskBody body, ClassLoader loader) {
        TaskSpec spec = assign.getSpec();
        Object input;
        try {
            input = spec.hasArgumentPayload() ? codec.decode(fetchArgument(assign, workerId), loader)
                    : spec.hasArgument() ? codec.decode(spec.getArgument(), loader) : null;
        } catch (PayloadUnavailable e) {
            return failed(result, TaskErrors.plain("java.io.IOException", e.getMessage(), workerId));
        } catch (CodecException e) {
            return failed(result, undecodable(e, workerId));
        } catch (RuntimeException e) {
            return failed(result, describe(e, workerId));
        }
        Object output;
        if (spec.getChunk()) {
            if (!(input instanceof Object[] inputs)) {
                return failed(result, TaskErrors.plain("java.lang.IllegalArgumentException",
                        "chunk task " + WorkerState.describe(assign) + " needs an Object[] argument, got "
                                + (input == null ? "null" : input.getClass().getName()), workerId));
            }
            Object[] outputs = new Object[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                try {
                    outputs[i] = body.call(inputs[i]);
                } catch (Throwable e) {
                    result.addElementErrors(ElementError.newBuilder().setIndex(i).setError(describe(e, workerId)));
                }
            }
            output = outputs;
        } else {
            try {
                output = body.call(input);
            } catch (Throwable e) {
                return failed(result, describe(e, workerId));
            }
        }
        if (output != null) {
            ByteString value;
            try {
                value = codec.encode(output);
            } catch (RuntimeException e) {
                String name = e instanceof CodecException c && c.className() != null
                        ? c.className() : output.getClass().getName();
                return failed(result, TaskErrors.plain("java.io.NotSerializableException",
                        "the result of task " + WorkerState.describe(assign) + " on worker " + workerId
                                + " cannot be encoded: " + name + " (" + e.getMessage() + ")", workerId));
            }
            if (payloads != null && Payloads.chunked(value)) {
                Payloads.Offer offer = Payloads.offer(payloads, value, true);
                // Dropped if its client never fetches it (its session ended, say).
                CompletableFuture.delayedExecutor(RESULT_OFFER_MINUTES, TimeUnit.MINUTES)
                        .execute(() -> offer.cancel("not fetched within " + RESULT_OFFER_MINUTES + " minutes"));
                return result.setValuePayload(offer.ref()).setStatus(TaskStatus.SUCCEEDED).build();
            }
            if (value.size() > MAX_RESULT_BYTES) {
                return failed(result, TaskErrors.plain("java.lang.IllegalStateException",
                        "the result of task " + WorkerState.describe(assign) + " on worker " + workerId
                                + " is " + value.size() + " bytes, over the limit of " + MAX_RESULT_BYTES, workerId));
            }
            result.setValue(value);
        }
        return bounded(result.setStatus(TaskStatus.SUCCEEDED).build(), WorkerState.describe(assign), workerId);
    }

    /**
     * {@code r}, or what is left of it when its message would be over the stream's limit: the
     * failed elements' errors without their serialized exceptions and frames, else a failure
     * of this task alone. Each error is already within {@link TaskErrors#MAX_PART_BYTES}, but a
     * chunk may hold thousands of them.
     */
    static WorkerTaskResult bounded(WorkerTaskResult r, String task, String workerId) {
        if (r.getSerializedSize() <= MAX_RESULT_BYTES) {
            return r;
        }
        if (r.getElementErrorsCount() > 0) {
            WorkerTaskResult.Builder slim = r.toBuilder().clearElementErrors();
            for (ElementError e : r.getElementErrorsList()) {
                slim.addElementErrors(e.toBuilder().setError(TaskErrors.slim(e.getError())));
            }
            WorkerTaskResult smaller = slim.build();
            if (smaller.getSerializedSize() <= MAX_RESULT_BYTES) {
                return smaller;
            }
        }
        return WorkerTaskResult.newBuilder().setTaskKey(r.getTaskKey()).setAttempt(r.getAttempt())
                .setRunNanos(r.getRunNanos()).setStatus(TaskStatus.FAILED)
                .setError(TaskErrors.plain("java.lang.IllegalStateException", "the result of task "
                        + task + " on worker " + workerId + " is " + r.getSerializedSize()
                        + " bytes (" + r.getElementErrorsCount() + " failed elements), over the limit of "
                        + MAX_RESULT_BYTES + " bytes for one result", workerId))
                .build();
    }

    private static final class PayloadUnavailable extends RuntimeException {
        PayloadUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private ByteString fetchArgument(TaskAssign assign, String workerId) {
        long size = assign.getSpec().getArgumentPayload().getSize();
        if (payloads == null) {
            throw new PayloadUnavailable("task " + WorkerState.describe(assign) + " has an argument of " + size
                    + " bytes, sent in chunks, which isolated (PROCESS) tasks cannot fetch yet", null);
        }
        try {
            return Payloads.fetch(payloads, assign.getSpec().getArgumentPayload());
        } catch (RuntimeException e) {
            throw new PayloadUnavailable("worker " + workerId + " cannot fetch the argument (" + size
                    + " bytes) of task " + WorkerState.describe(assign) + ": " + Payloads.describe(e), e);
        }
    }

    /** A function sent on this stream, decoded on its first task (or its failure remembered). */
    private Decoded function(ByteString digest, String workerId) {
        Decoded cached = functions.get(digest);
        if (cached != null) {
            return cached;
        }
        ByteString bytes = functionBytes.get(digest);
        if (bytes == null) {
            throw new IllegalArgumentException("no function with this digest was sent on this stream");
        }
        // Two threads may decode the same function at once; both results are equivalent.
        Decoded d = decode(bytes, workerId);
        Decoded raced = functions.putIfAbsent(digest, d);
        if (raced != null) {
            d.release();
            return raced;
        }
        if (!functionBytes.containsKey(digest) && functions.remove(digest, d)) {
            d.release();   // forgotten meanwhile: this task still runs with it
            return new Decoded(d.body(), d.loader(), null, d.failure());
        }
        return d;
    }

    /** Decodes a body, in the loader of the code it ships when it carries a code reference. */
    private Decoded decode(ByteString bytes, String workerId) {
        if (!ShippedCode.wrapped(bytes)) {
            return decodeIn(bytes, null, loader, workerId);
        }
        ShippedCode.Parts parts;
        try {
            parts = ShippedCode.unwrap(bytes);
        } catch (CodecException e) {
            return Decoded.failed(TaskErrors.plain("java.io.InvalidObjectException", "cannot decode the task on worker "
                    + workerId + ": " + e.getMessage(), workerId));
        }
        String unsupported = BuildCheck.unsupported(parts.code(), workerId);
        if (unsupported != null) {
            return Decoded.failed(TaskErrors.plain("java.lang.UnsupportedOperationException", unsupported, workerId));
        }
        CodeLoaders.Lease lease;
        if (parts.code().getBundlesCount() == 0) {
            lease = null;
        } else if (code == null) {
            return Decoded.failed(TaskErrors.plain("java.lang.UnsupportedOperationException", "worker " + workerId
                    + " cannot load shipped code here", workerId));
        } else {
            try {
                lease = code.acquire(parts.code());
            } catch (BundleCache.BundleUnavailable e) {
                return Decoded.failed(TaskErrors.plain("java.io.IOException", "worker " + workerId + ": "
                        + e.getMessage(), workerId));
            }
        }
        ClassLoader in = lease == null ? loader : lease.loader();
        String bad = BuildCheck.mismatch(parts.code(), in, workerId);
        if (bad != null) {
            if (lease != null) {
                lease.release();
            }
            return Decoded.failed(TaskErrors.plain(bad.startsWith("class ") ? "java.lang.ClassNotFoundException"
                    : "java.lang.IncompatibleClassChangeError", bad, workerId));
        }
        return decodeIn(parts.body(), lease, in, workerId);
    }

    private Decoded decodeIn(ByteString body, CodeLoaders.Lease lease, ClassLoader in, String workerId) {
        try {
            return new Decoded(asBody(codec.decode(body, in)), in, lease, null);
        } catch (CodecException e) {
            if (lease != null) {
                lease.release();
            }
            return Decoded.failed(undecodable(e, workerId));
        } catch (RuntimeException e) {
            if (lease != null) {
                lease.release();
            }
            return Decoded.failed(describe(e, workerId));
        }
    }

    private static TaskBody asBody(Object decoded) {
        if (decoded instanceof TaskBody b) {
            return b;
        }
        if (decoded instanceof java.lang.invoke.SerializedLambda l) {
            throw new IllegalStateException("a lambda of class " + l.getCapturingClass().replace('/', '.')
                    + " cannot be rebuilt here (its class is missing or differs): ship the application's code"
                    + " (ClientConfig.shipCode) or add it to the worker's --classpath");
        }
        throw new ClassCastException("task body is a " + (decoded == null ? "null" : decoded.getClass().getName())
                + ", not an io.cohort.common.TaskBody");
    }

    private static WorkerTaskResult failed(WorkerTaskResult.Builder result, TaskError error) {
        return result.setStatus(TaskStatus.FAILED).setError(error).build();
    }

    /** A task or its input that cannot be decoded here, named so the user knows what to ship. */
    private static TaskError undecodable(CodecException e, String workerId) {
        Throwable cause = e.getCause();
        String name = e.className();
        if (cause instanceof ClassNotFoundException) {
            return TaskErrors.plain("java.lang.ClassNotFoundException", "class " + name + " not found on worker "
                    + workerId + "; ship it (ClientConfig.shipCode, ClientConfig.ship) or add the application's"
                    + " jars to the worker's --classpath", workerId);
        }
        if (cause instanceof java.io.InvalidClassException) {
            // the codec's message names the class and why: refused by the filter (and how to
            // admit it), or a different version of the class
            return TaskErrors.plain("java.io.InvalidClassException", "cannot decode the task on worker " + workerId
                    + ": " + e.getMessage(), workerId);
        }
        return TaskErrors.plain(cause == null ? e.getClass().getName() : cause.getClass().getName(),
                "cannot decode the task on worker " + workerId + ": " + e.getMessage(), workerId);
    }

    /** Describes what a task threw; even an OutOfMemoryError while describing must not escape. */
    private TaskError describe(Throwable e, String workerId) {
        try {
            return TaskErrors.describe(e, workerId, codec);
        } catch (Throwable again) {
            return TaskErrors.plain(e.getClass().getName(), String.valueOf(e.getMessage()), workerId);
        }
    }
}
