package io.cohort.client;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.Uninterruptibles;
import io.cohort.common.Codec;
import io.cohort.common.TaskContext;
import io.cohort.proto.v1.SharedAbandonRequest;
import io.cohort.proto.v1.SharedCallRequest;
import io.cohort.proto.v1.SharedCallResponse;
import io.cohort.proto.v1.SharedHolder;
import io.cohort.proto.v1.SharedOp;
import io.cohort.proto.v1.SharedOpenRequest;
import io.cohort.proto.v1.SharedOpenResponse;
import io.cohort.proto.v1.SharedServiceGrpc;
import io.cohort.proto.v1.SharedType;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Calls the coordinator's SharedService for shared-object handles, from a client JVM (over the
 * executor's session channel) or from a worker (over the worker's own channel). Thread-safe.
 */
final class SharedClient {
    /** Time allowed for a call that does not wait, and added to a waiting call's own timeout. */
    private static final long RPC_MILLIS = 30_000;
    /** The client of the worker process this JVM is, if any: one per installed channel. */
    private static volatile SharedClient worker;

    private final Channel channel;
    private final Codec codec;
    private final ClassLoader loader;
    /** Null in a client JVM. */
    private final String workerId;
    private final SharedServiceGrpc.SharedServiceFutureStub stub;

    private SharedClient(Channel channel, Codec codec, ClassLoader loader, String workerId) {
        this.channel = channel;
        this.codec = codec;
        this.loader = loader;
        this.workerId = workerId;
        this.stub = SharedServiceGrpc.newFutureStub(channel);
    }

    /** The client of an executor's session, for the handles it creates. */
    static SharedClient forSession(Channel channel, Codec codec, ClassLoader loader) {
        return new SharedClient(channel, codec, loader, null);
    }

    /** For a handle decoded in this JVM: only a worker (or its child JVM) has a way to the coordinator. */
    static SharedClient resolve(String sessionId) {
        Channel ch = TaskContext.coordinatorChannel().orElse(null);
        if (ch != null) {
            SharedClient w = worker;
            if (w == null || w.channel != ch) {
                ClassLoader l = Thread.currentThread().getContextClassLoader();
                w = new SharedClient(ch, TaskContext.codec(), l != null ? l : SharedClient.class.getClassLoader(),
                        TaskContext.workerId().orElse(""));
                worker = w;
            }
            return w;
        }
        throw new IllegalStateException("this shared-object handle of session " + sessionId + " has no way to "
                + "the coordinator here: it was decoded outside a Cohort worker; use the handle from the executor");
    }

    SharedOpenResponse open(String sessionId, String name, SharedType type, long longArg, double doubleArg) {
        SharedOpenRequest r = SharedOpenRequest.newBuilder().setSessionId(sessionId).setName(name).setType(type)
                .setLongArg(longArg).setDoubleArg(doubleArg).setHolder(holder()).build();
        try {
            return Uninterruptibles.getUninterruptibly(
                    stub.withDeadlineAfter(RPC_MILLIS, TimeUnit.MILLISECONDS).open(r));
        } catch (ExecutionException e) {
            throw translate(e.getCause(), name, SharedOp.SHARED_OP_UNSPECIFIED);
        }
    }

    /** A call that does not wait at the coordinator; answered within RPC_MILLIS. */
    SharedCallResponse call(SharedCallRequest.Builder r, String name) {
        r.setHolder(holder());
        try {
            return Uninterruptibles.getUninterruptibly(
                    stub.withDeadlineAfter(RPC_MILLIS, TimeUnit.MILLISECONDS).call(r.build()));
        } catch (ExecutionException e) {
            throw translate(e.getCause(), name, r.getOp());
        }
    }

    /**
     * A call that may wait at the coordinator, at most {@code timeout} (null: without bound).
     * Interrupted: the call is given up (what it was granted is given back) and this throws
     * CohortException caused by the InterruptedException, with the interrupt flag kept.
     */
    SharedCallResponse await(SharedCallRequest.Builder r, Duration timeout, String name) {
        long requestId = ThreadLocalRandom.current().nextLong() | 1;
        r.setHolder(holder()).setRequestId(requestId);
        var s = stub;
        if (timeout != null) {
            long ms = Math.max(0, timeout.toMillis());
            r.setTimeoutMs(ms);
            s = s.withDeadlineAfter(saturatedAdd(ms, RPC_MILLIS), TimeUnit.MILLISECONDS);
        }
        ListenableFuture<SharedCallResponse> f = s.call(r.build());
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw translate(e.getCause(), name, r.getOp());
        } catch (InterruptedException e) {
            if (!f.cancel(true)) {
                Thread.currentThread().interrupt();   // it was answered: the operation happened
                try {
                    return Uninterruptibles.getUninterruptibly(f);
                } catch (ExecutionException | CancellationException again) {
                    throw translate(again.getCause() != null ? again.getCause() : again, name, r.getOp());
                }
            }
            abandon(r.getSessionId(), r.getObjectId(), requestId);
            Thread.currentThread().interrupt();
            throw new CohortException("interrupted while waiting on the shared object '" + name + "'", e);
        }
    }

    private void abandon(String sessionId, long objectId, long requestId) {
        SharedAbandonRequest a = SharedAbandonRequest.newBuilder().setSessionId(sessionId).setObjectId(objectId)
                .setRequestId(requestId).build();
        try {
            Uninterruptibles.getUninterruptibly(stub.withDeadlineAfter(RPC_MILLIS, TimeUnit.MILLISECONDS).abandon(a));
        } catch (ExecutionException ignored) {
            // the coordinator is gone, and the object with it
        }
    }

    /** The caller: the task attempt this thread runs, else this thread of a worker or of the client. */
    private SharedHolder holder() {
        SharedHolder.Builder h = SharedHolder.newBuilder();
        if (workerId != null) {
            h.setWorkerId(workerId);
            OptionalLong task = TaskContext.currentTaskKey();
            if (task.isPresent()) {
                return h.setTaskKey(task.getAsLong()).setAttempt(TaskContext.currentAttempt()).build();
            }
        }
        return h.setThreadId(Thread.currentThread().getId()).build();
    }

    com.google.protobuf.ByteString encode(Object value) {
        return codec.encode(value);
    }

    Object decode(com.google.protobuf.ByteString bytes) {
        return codec.decode(bytes, loader);
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE : sum;
    }

    /** Users see Java's and Cohort's exceptions, never gRPC's (the status is in the message). */
    private static RuntimeException translate(Throwable t, String name, SharedOp op) {
        if (!(t instanceof StatusRuntimeException e)) {
            return new CohortException("shared object '" + name + "': " + t, t);
        }
        Status s = e.getStatus();
        String what = "shared object '" + name + "': " + s.getDescription();
        return switch (s.getCode()) {
            // Refused by the coordinator: not this caller's session, or a limit (named, with its flag).
            case NOT_FOUND, PERMISSION_DENIED, RESOURCE_EXHAUSTED -> new IllegalStateException(what);
            case FAILED_PRECONDITION -> op == SharedOp.UNLOCK
                    ? new IllegalMonitorStateException(what) : new IllegalStateException(what);
            case OUT_OF_RANGE -> new IndexOutOfBoundsException(what);
            case INVALID_ARGUMENT -> new IllegalArgumentException(what);
            case DEADLINE_EXCEEDED -> new CohortTimeoutException(what);
            case ABORTED -> new CohortException(what);
            default -> new CohortException("shared object '" + name + "': " + s.getCode() + " "
                    + s.getDescription());
        };
    }
}
