package io.cohort.coordinator.shared;

import io.cohort.proto.v1.SharedCallResponse;
import io.grpc.Status;

/** Where the answer to one call goes; exactly one of answer and fail is called, never under the store's lock. */
public interface Reply {
    void answer(SharedCallResponse response);

    void fail(Status status);

    /** True once the caller gave up; such a call is never granted a lock or an item. */
    boolean isCancelled();
}
