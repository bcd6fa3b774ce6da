package io.cohort.coordinator.server;

import io.grpc.ServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;

/** {@link Health} on grpc-services' own manager; loaded only when that jar is present. */
final class GrpcHealth implements Health {
    private final HealthStatusManager manager = new HealthStatusManager();

    static Health serve(ServerBuilder<?> builder) {
        GrpcHealth health = new GrpcHealth();
        builder.addService(health.manager.getHealthService());
        return health;
    }

    @Override
    public void stopping() {
        manager.enterTerminalState();   // probes and watchers see NOT_SERVING before the server stops taking calls
    }
}
