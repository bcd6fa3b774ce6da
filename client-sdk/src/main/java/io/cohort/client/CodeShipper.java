package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.common.BundleChunks;
import io.cohort.common.ChunkPump;
import io.cohort.common.ShippedCode;
import io.cohort.proto.v1.Bundle;
import io.cohort.proto.v1.BundleChunk;
import io.cohort.proto.v1.CodeServiceGrpc;
import io.cohort.proto.v1.MissingBundlesRequest;
import io.cohort.proto.v1.MissingBundlesResponse;
import io.cohort.proto.v1.UploadBundleResponse;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Ships the application's code when a client connects: names each jar or class directory by
 * the SHA-256 of its bytes (a directory packed into a jar first, see {@link BundleJar}), asks
 * the coordinator which it lacks and uploads only those. What is shipped is exactly
 * {@code ClientConfig.ship(paths)}, else the class path's entries a worker would not have
 * ({@link ShippableClassPath}).
 */
final class CodeShipper {
    private static final System.Logger LOG = System.getLogger(CodeShipper.class.getName());
    private static final int CHUNK_BYTES = 1 << 20;
    private static final long UPLOAD_MINUTES = 10;

    private CodeShipper() {}

    /**
     * The bundles this client's tasks load their classes from (empty: the workers' own class
     * path). Throws {@link CohortException} when an explicit list cannot be shipped; an
     * automatic one that the coordinator refuses is logged and nothing is shipped.
     */
    static List<Bundle> ship(ClientConfig config, Channel channel) {
        boolean explicit = config.ship().isPresent();
        List<Path> paths = explicit ? config.ship().get()
                : config.shipCode() ? ShippableClassPath.entries(System.getProperty("java.class.path", ""), File.pathSeparator)
                : List.of();
        if (paths.isEmpty()) {
            return List.of();
        }
        List<BundleJar> jars = new ArrayList<>();
        try {
            for (Path p : paths) {
                jars.add(BundleJar.of(p));
            }
            List<Bundle> bundles = jars.stream().map(BundleJar::bundle).toList();
            MissingBundlesResponse missing = CodeServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(config.connectTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .missing(MissingBundlesRequest.newBuilder().addAllBundles(bundles).build());
            Set<ByteString> lacking = new HashSet<>(missing.getMissingList());
            for (BundleJar jar : jars) {
                if (lacking.contains(jar.bundle().getSha256())) {
                    upload(channel, jar);
                }
            }
            return bundles;
        } catch (StatusRuntimeException e) {
            String why = "the coordinator at " + config.target() + " refused the application's code: "
                    + e.getStatus().getCode() + " " + e.getStatus().getDescription();
            if (explicit || e.getStatus().getCode() != Status.Code.PERMISSION_DENIED) {
                throw new CohortException(why, e);
            }
            LOG.log(System.Logger.Level.WARNING, why + "; tasks run on the workers' own class path");
            return List.of();
        } catch (IOException e) {
            throw new CohortException("cannot ship the application's code: " + e, e);
        } finally {
            jars.forEach(BundleJar::close);
        }
    }

    private static void upload(Channel channel, BundleJar jar) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        CodeServiceGrpc.newStub(channel).upload(new ClientResponseObserver<BundleChunk, UploadBundleResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<BundleChunk> out) {
                ChunkPump.install(out, new BundleChunks(() -> Files.newInputStream(jar.file()), jar.bundle(), CHUNK_BYTES));
            }

            @Override
            public void onNext(UploadBundleResponse value) {}

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        });
        try {
            done.get(UPLOAD_MINUTES, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StatusRuntimeException s) {
                throw s;
            }
            throw new CohortException("cannot upload " + jar.bundle().getName() + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new CohortException("uploading " + jar.bundle().getName() + " took over " + UPLOAD_MINUTES + " minutes");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CohortException("interrupted while uploading " + jar.bundle().getName(), e);
        }
    }

}
