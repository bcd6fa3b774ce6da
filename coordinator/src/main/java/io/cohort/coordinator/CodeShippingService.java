package io.cohort.coordinator;

import io.cohort.coordinator.code.CodeService;
import io.cohort.coordinator.code.CodeStore;
import io.grpc.ServerServiceDefinition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The code store, its I/O thread and its gRPC service, as the coordinator starts and stops
 * them. The store lives under the journal directory when there is one (bundles survive a
 * restart), else in a temporary directory deleted on close.
 */
final class CodeShippingService implements AutoCloseable {
    private final CodeStore store;
    private final ExecutorService io;
    private final ServerServiceDefinition definition;

    private CodeShippingService(CodeStore store, ExecutorService io, boolean enabled) {
        this.store = store;
        this.io = io;
        this.definition = new CodeService(store, enabled, io).bindService();
    }

    static CodeShippingService start(CoordinatorConfig config) throws IOException {
        CodeShipping c = config.codeShipping();
        CodeStore store = config.journalDir().isPresent()
                ? CodeStore.in(config.journalDir().get().resolve("code"), c.storeBytes(), c.allowPackages())
                : CodeStore.temporary(c.storeBytes(), c.allowPackages());
        ExecutorService io = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "cohort-code-io");
            t.setDaemon(true);
            return t;
        });
        return new CodeShippingService(store, io, c.enabled());
    }

    CodeStore store() {
        return store;
    }

    ServerServiceDefinition definition() {
        return definition;
    }

    @Override
    public void close() {
        io.shutdownNow();
        try {
            store.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the code store " + store.directory(), e);
        }
    }
}
