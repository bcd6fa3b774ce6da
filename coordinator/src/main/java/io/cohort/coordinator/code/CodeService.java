package io.cohort.coordinator.code;

import com.google.protobuf.ByteString;
import io.cohort.common.BundleChunks;
import io.cohort.common.ChunkPump;
import io.cohort.common.ShippedCode;
import io.cohort.coordinator.server.Authenticator;
import io.cohort.proto.v1.Bundle;
import io.cohort.proto.v1.BundleChunk;
import io.cohort.proto.v1.CodeServiceGrpc;
import io.cohort.proto.v1.FetchBundleRequest;
import io.cohort.proto.v1.MissingBundlesRequest;
import io.cohort.proto.v1.MissingBundlesResponse;
import io.cohort.proto.v1.UploadBundleResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.Executor;

/**
 * Clients' uploads and workers' fetches of shipped bundles. Reading, hashing and checking
 * files runs on {@code io}, never on the network thread the scheduler shares; an upload's
 * chunks are appended to its file as they come (page-cache writes of at most a chunk).
 */
public final class CodeService extends CodeServiceGrpc.CodeServiceImplBase {
    static final int CHUNK_BYTES = 1 << 20;
    private final CodeStore store;
    private final boolean enabled;
    private final Executor io;

    public CodeService(CodeStore store, boolean enabled, Executor io) {
        this.store = store;
        this.enabled = enabled;
        this.io = io;
    }

    /** Null when the caller may ship code, else why not. */
    private String refusal() {
        if (!enabled) {
            return "this coordinator does not accept shipped code (it was started with --no-code-shipping):"
                    + " put the application's jars on the workers' --classpath and set ClientConfig.shipCode(false)";
        }
        if (!Authenticator.mayShipCode()) {
            return "this client's token may not ship code: the coordinator takes shipped code only with its"
                    + " code token (--code-token-file); or put the application's jars on the workers' --classpath"
                    + " and set ClientConfig.shipCode(false)";
        }
        return null;
    }

    @Override
    public void missing(MissingBundlesRequest request, StreamObserver<MissingBundlesResponse> out) {
        String refused = refusal();
        if (refused != null) {
            out.onError(Status.PERMISSION_DENIED.withDescription(refused).asRuntimeException());
            return;
        }
        MissingBundlesResponse.Builder r = MissingBundlesResponse.newBuilder();
        for (Bundle b : request.getBundlesList()) {
            if (!store.has(b.getSha256())) {
                r.addMissing(b.getSha256());
            }
        }
        out.onNext(r.build());
        out.onCompleted();
    }

    @Override
    public StreamObserver<BundleChunk> upload(StreamObserver<UploadBundleResponse> out) {
        String refused = refusal();
        if (refused != null) {
            out.onError(Status.PERMISSION_DENIED.withDescription(refused).asRuntimeException());
            return new Ignored<>();
        }
        return new StreamObserver<>() {
            private CodeStore.Upload upload;
            private boolean failed;

            @Override
            public void onNext(BundleChunk chunk) {
                if (failed) {
                    return;
                }
                try {
                    if (upload == null) {
                        if (!chunk.hasBundle()) {
                            throw new CodeStore.Refused("an upload's first chunk must name its bundle");
                        }
                        upload = store.begin(chunk.getBundle().getSha256(), chunk.getBundle().getSize());
                    }
                    upload.write(chunk.getData());
                } catch (CodeStore.Refused e) {
                    fail(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
                } catch (IOException e) {
                    fail(Status.INTERNAL.withDescription("cannot store the bundle: " + e));
                }
            }

            private void fail(Status status) {
                failed = true;
                if (upload != null) {
                    upload.abandon();
                }
                out.onError(status.asRuntimeException());
            }

            @Override
            public void onError(Throwable t) {
                if (upload != null) {
                    upload.abandon();
                }
            }

            @Override
            public void onCompleted() {
                if (failed) {
                    return;
                }
                if (upload == null) {
                    out.onError(Status.INVALID_ARGUMENT.withDescription("an upload sent no chunk").asRuntimeException());
                    return;
                }
                CodeStore.Upload u = upload;
                io.execute(() -> {
                    try {
                        u.finish();
                        out.onNext(UploadBundleResponse.getDefaultInstance());
                        out.onCompleted();
                    } catch (CodeStore.Refused e) {
                        out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                    } catch (IOException | RuntimeException e) {
                        out.onError(Status.INTERNAL.withDescription("cannot store the bundle: " + e).asRuntimeException());
                    }
                });
            }
        };
    }

    @Override
    public void fetch(FetchBundleRequest request, StreamObserver<BundleChunk> out) {
        ServerCallStreamObserver<BundleChunk> call = (ServerCallStreamObserver<BundleChunk>) out;
        ByteString sha = request.getSha256();
        InputStream in;
        try {
            in = store.open(sha);
        } catch (IOException e) {
            out.onError(Status.INTERNAL.withDescription("cannot read bundle " + ShippedCode.hex(sha) + ": " + e)
                    .asRuntimeException());
            return;
        }
        if (in == null) {
            out.onError(Status.NOT_FOUND.withDescription("the coordinator holds no bundle " + ShippedCode.hex(sha)
                    + " (never uploaded, or dropped from its code store; the client uploads it again when it"
                    + " connects)").asRuntimeException());
            return;
        }
        call.setOnCancelHandler(() -> close(in));
        ChunkPump<BundleChunk> pump = ChunkPump.install(call,
                new BundleChunks(() -> in, Bundle.newBuilder().setSha256(sha).build(), CHUNK_BYTES));
        call.setOnReadyHandler(() -> io.execute(pump));
        io.execute(pump);
    }

    private static void close(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // nothing more to read from it either way
        }
    }


    private static final class Ignored<T> implements StreamObserver<T> {
        @Override
        public void onNext(T value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
    }
}
