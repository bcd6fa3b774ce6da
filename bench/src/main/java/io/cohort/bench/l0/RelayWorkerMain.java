package io.cohort.bench.l0;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;

/**
 * An L0 worker process: serves the relay's stream and answers each item on the network thread
 * that read it ({@link Items#INCREMENT}: x + 1; {@link Items#COPY}: the bytes copied). Prints
 * "listening on HOST:PORT" when ready and serves until the process is ended.
 */
public final class RelayWorkerMain {
    private RelayWorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        Loop loop = new Loop("l0-worker");
        Server server = loop.server()
                .addService(ServerServiceDefinition.builder("l0.Relay")
                        .addMethod(Frame.METHOD, new Handler()).build())
                .build().start();
        System.out.println("l0 worker listening on " + Loop.target(server));
        System.out.flush();
        server.awaitTermination();
    }

    private static final class Handler implements ServerCallHandler<Frame, Frame> {
        @Override
        public ServerCall.Listener<Frame> startCall(ServerCall<Frame, Frame> call, Metadata headers) {
            Outbox out = new Outbox(Outbox.of(call));
            out.request(1);
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(Frame f) {
                    Items.Reader r = new Items.Reader(f);
                    while (r.next()) {
                        if (r.op() == Items.INCREMENT) {
                            out.addLong(r.id(), Items.INCREMENT, Items.readLong(r.bytes(), r.offset()) + 1);
                        } else {
                            out.add(r.id(), Items.COPY, r.bytes(), r.offset(), r.length());
                        }
                    }
                    out.flush();
                    out.request(1);
                }

                @Override
                public void onReady() {
                    out.flush();
                }

                @Override
                public void onHalfClose() {
                    out.flush();
                    out.close(Status.OK);
                }
            };
        }
    }
}
