package io.cohort.deploy;

import io.cohort.client.RemoteFunction;

/** The job's task: shipped to the workers in a jar of its own (the cluster script's --app). */
public final class Square implements RemoteFunction<Long, Long> {
    private static final long serialVersionUID = 1L;

    @Override
    public Long apply(Long x) {
        return x * x;
    }
}
