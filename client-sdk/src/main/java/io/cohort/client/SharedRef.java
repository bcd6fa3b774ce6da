package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.SharedCallRequest;
import io.cohort.proto.v1.SharedCallResponse;
import io.cohort.proto.v1.SharedOp;
import io.cohort.proto.v1.SharedType;
import java.io.Serial;
import java.io.Serializable;
import java.time.Duration;

/**
 * What every shared-object handle holds: which object, and (not serialized) how to reach the
 * coordinator from this JVM. Thread-safe.
 */
final class SharedRef implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    final String session;
    final String name;
    final SharedType type;
    final long id;
    /** Length, capacity or parties. */
    final long size;
    private transient volatile SharedClient client;

    SharedRef(String session, String name, SharedType type, long id, long size, SharedClient client) {
        this.session = session;
        this.name = name;
        this.type = type;
        this.id = id;
        this.size = size;
        this.client = client;
    }

    private SharedClient client() {
        SharedClient c = client;
        if (c == null) {
            c = SharedClient.resolve(session);
            client = c;
        }
        return c;
    }

    SharedCallRequest.Builder request(SharedOp op) {
        return SharedCallRequest.newBuilder().setSessionId(session).setObjectId(id).setType(type).setOp(op);
    }

    SharedCallResponse call(SharedOp op) {
        return call(request(op));
    }

    SharedCallResponse call(SharedCallRequest.Builder r) {
        return client().call(r, name);
    }

    /** A call that may wait; {@code timeout} null waits without bound. */
    SharedCallResponse await(SharedCallRequest.Builder r, Duration timeout) {
        return client().await(r, timeout, name);
    }

    ByteString encode(Object value) {
        return client().encode(value);
    }

    Object decode(ByteString bytes) {
        return client().decode(bytes);
    }

    /** Runs a user's update function at the caller; its checked exceptions become CohortException. */
    static <A, R> R apply(RemoteFunction<A, R> fn, A input) {
        try {
            return fn.apply(input);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new CohortException("the update function threw " + e, e);
        }
    }

    void delete() {
        call(SharedOp.DELETE);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SharedRef r && r.id == id && r.session.equals(session);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(id);
    }

    @Override
    public String toString() {
        return name;
    }
}
