package io.cohort.coordinator.server;

import io.grpc.ServerBuilder;

/**
 * The standard gRPC health service ({@code grpc.health.v1.Health}) where grpc-services is on
 * the class path, as it is for the daemons; an embedded coordinator ({@code Cohort.local}) has
 * no probes to answer and leaves that jar out of an application's dependencies.
 */
public interface Health {
    /** Nothing to report to: grpc-services is absent. */
    Health NONE = () -> { };

    /** From now on the service answers NOT_SERVING (call as the coordinator begins to shut down). */
    void stopping();

    /** Adds the health service to {@code builder}, SERVING from now on; {@link #NONE} without grpc-services. */
    static Health serve(ServerBuilder<?> builder) {
        try {
            Class.forName("io.grpc.protobuf.services.HealthStatusManager", false, Health.class.getClassLoader());
        } catch (ClassNotFoundException absent) {
            return NONE;
        }
        return GrpcHealth.serve(builder);
    }
}
