package io.cohort.client;

import io.cohort.proto.v1.TaskPolicy;

/** TaskOptions in their wire form. */
final class Policies {
    private static final TaskPolicy DEFAULT = of(TaskOptions.DEFAULTS);

    private Policies() {}

    static TaskPolicy of(TaskOptions options) {
        if (options == TaskOptions.DEFAULTS && DEFAULT != null) {
            return DEFAULT;
        }
        TaskPolicy.Builder p = TaskPolicy.newBuilder()
                .setPriority(options.priority())
                .setMaxRetries(options.maxRetries())
                .putAllResources(options.resources())
                .addAllLabels(options.labels());
        options.timeout().ifPresent(t -> p.setTimeoutMs(Math.max(1, t.toMillis())));
        options.name().ifPresent(p::setName);
        return p.build();
    }
}
