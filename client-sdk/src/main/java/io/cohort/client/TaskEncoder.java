package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.common.Codec;
import io.cohort.common.CodecException;
import io.cohort.common.Digests;
import io.cohort.common.Payloads;
import io.cohort.common.Protocol;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskPolicy;
import io.cohort.proto.v1.TaskSpec;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Encodes what a session submits: task bodies and arguments through the codec (refused before
 * anything is sent when they cannot be), and functions as definitions named by the SHA-256 of
 * their body, encoded once while the session remembers having sent them. Thread-safe: the
 * definitions are guarded by the session's send lock, given at construction.
 */
final class TaskEncoder {
    /** Room for the batch envelope around one task. */
    private static final int ENVELOPE_BYTES = 4096;
    /**
     * Definitions no unanswered task needs that the session remembers having sent, most recently
     * used last. Beyond this many the coordinator may have dropped them too, so one forgotten
     * here is sent again before its next task.
     */
    static final int KEPT_FUNCTIONS = 1024;

    private final Codec codec;
    private final Object lock;
    /** Guarded by lock. Keys are the user's function objects (identity for lambdas). */
    private final Map<Object, ByteString> digestByFunction = new WeakHashMap<>();
    /** Guarded by lock: the definitions sent on this stream that the session remembers (see KEPT_FUNCTIONS). */
    private final Map<ByteString, FunctionDef> sent = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<ByteString, FunctionDef> eldest) {
            return size() > KEPT_FUNCTIONS;
        }
    };

    /** What travels in front of every task body (code shipping); null: nothing. */
    private volatile TaskCode taskCode;

        TaskEncoder(Codec codec, Object lock) {
        this.codec = codec;
        this.lock = lock;
    }

    Codec codec() {
        return codec;
    }

    /** The definition of a function, encoded once while the session remembers it. */
    FunctionDef function(Object function, TaskBody body) {
        synchronized (lock) {
            ByteString digest = digestByFunction.get(function);
            FunctionDef def = digest == null ? null : sent.get(digest);
            if (def == null) {
                ByteString bytes = encodeBody(body);   // shipping: the code it needs in front
                digest = Digests.sha256(bytes);
                def = FunctionDef.newBuilder().setDigest(digest).setBody(bytes).build();
                digestByFunction.put(function, digest);
            }
            return def;
        }
    }

    /**
     * Notes that a definition goes out on this stream (it may forget the longest unused one);
     * true if it was not sent already, so the caller sends it. Call holding the lock.
     */
    boolean markSent(FunctionDef function) {
        if (sent.get(function.getDigest()) != null) {   // also marks it recently used
            return false;
        }
        sent.put(function.getDigest(), function);
        return true;
    }

    /** Notes that a definition goes out again, whatever was noted. Call holding the lock. */
    void resent(FunctionDef function) {
        sent.put(function.getDigest(), function);
    }

    /** A new stream: each definition is sent again before the first task that needs it. Call holding the lock. */
    void forgetSent() {
        sent.clear();
    }

    /** Definitions the session remembers having sent (tests). */
    int kept() {
        synchronized (lock) {
            return sent.size();
        }
    }

    /** Encodes a task's body or argument; what cannot be encoded is refused before anything is sent. */
    /** Code shipping: from now on every task body carries the code it needs. */
    void shipWith(TaskCode code) {
        this.taskCode = code;
    }

    /** Encodes a task body with, in front, the code it needs (see {@link TaskCode}); none when not shipping. */
    ByteString encodeBody(TaskBody body) {
        ByteString bytes = encodeTask(body);
        TaskCode code = taskCode;
        return code == null ? bytes : code.wrap(body, bytes);
    }

        ByteString encodeTask(Object value) {
        ByteString bytes;
        try {
            bytes = codec.encode(value);
        } catch (CodecException e) {
            throw new IllegalArgumentException("task cannot be sent: " + e.getMessage(), e);
        }
        if (bytes.size() > Protocol.MAX_MESSAGE_BYTES - ENVELOPE_BYTES) {
            throw new IllegalArgumentException("task payload of " + bytes.size()
                    + " bytes exceeds the limit of " + (Protocol.MAX_MESSAGE_BYTES - ENVELOPE_BYTES) + " bytes");
        }
        return bytes;
    }

    /**
     * Encodes a task's argument; what cannot be encoded is refused before anything is sent. Any
     * size is allowed: one over the chunk threshold is offered in chunks when submitted.
     */
    ByteString encodeArgument(Object value) {
        try {
            return codec.encode(value);
        } catch (CodecException e) {
            throw new IllegalArgumentException("task cannot be sent: " + e.getMessage(), e);
        }
    }

    /**
     * A task's encoded bytes as the coordinator counts them (spec and policy), a little over:
     * an argument that travels in chunks counts only its reference.
     */
    static long inFlightBytes(TaskSpec spec, TaskPolicy policy) {
        long argument = spec.hasArgument() && Payloads.chunked(spec.getArgument()) ? spec.getArgument().size() - 256L : 0;
        return spec.getSerializedSize() - argument + policy.getSerializedSize() + 16;
    }
}
