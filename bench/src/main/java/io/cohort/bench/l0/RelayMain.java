package io.cohort.bench.l0;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;

/**
 * The L0 relay process: {@code RelayMain HOST:PORT HOST:PORT...} (its workers). Each client
 * stream gets a stream to every worker; each item goes to the worker with the fewest items
 * outstanding, each result back to the client, with no scheduler, no futures and no decoding
 * beyond the item headers. A frame of one item, and every frame of results, is forwarded as it
 * was received; the items of a larger frame are copied into one frame per worker. Prints "listening on HOST:PORT" when ready.
 */
public final class RelayMain {
    private RelayMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: RelayMain WORKER_HOST:PORT...");
            System.exit(2);
        }
        Loop loop = new Loop("l0-relay");
        List<ManagedChannel> workers = new ArrayList<>();
        for (String target : args) {
            workers.add(loop.channel(target));
        }
        Server server = loop.server()
                .addService(ServerServiceDefinition.builder("l0.Relay")
                        .addMethod(Frame.METHOD, (ServerCallHandler<Frame, Frame>) (call, h) -> new Session(call, workers).fromClient)
                        .build())
                .build().start();
        System.out.println("l0 relay listening on " + Loop.target(server));
        System.out.flush();
        server.awaitTermination();
    }

    /** One client stream and its streams to the workers. */
    private static final class Session {
        private final Outbox toClient;
        private final Outbox[] toWorker;
        /** Guarded by this: items sent to each worker and not yet answered. */
        private final int[] outstanding;
        /** Guarded by this: worker streams not yet closed. */
        private int open;
        final ServerCall.Listener<Frame> fromClient;

        Session(ServerCall<Frame, Frame> client, List<ManagedChannel> workers) {
            toClient = new Outbox(Outbox.of(client));
            toWorker = new Outbox[workers.size()];
            outstanding = new int[workers.size()];
            open = workers.size();
            for (int w = 0; w < workers.size(); w++) {
                ClientCall<Frame, Frame> call = workers.get(w).newCall(Frame.METHOD,
                        CallOptions.DEFAULT.withOnReadyThreshold(1));   // "not ready" = a write is pending
                toWorker[w] = new Outbox(Outbox.of(call));
                call.start(fromWorker(w), new Metadata());
                toWorker[w].request(1);
            }
            fromClient = new ServerCall.Listener<>() {
                @Override
                public void onMessage(Frame f) {
                    Items.Reader r = new Items.Reader(f);
                    if (r.next() && !r.hasNext()) {
                        toWorker[pick()].addFrame(f);   // one item (W3's, W5's): forwarded as received
                    } else {
                        r = new Items.Reader(f);
                        while (r.next()) {
                            toWorker[pick()].copyOf(r);
                        }
                    }
                    for (Outbox o : toWorker) {
                        o.flush();
                    }
                    toClient.request(1);
                }

                @Override
                public void onReady() {
                    toClient.flush();
                }

                @Override
                public void onHalfClose() {
                    for (Outbox o : toWorker) {
                        o.flush();
                        o.close(Status.OK);
                    }
                }

                @Override
                public void onCancel() {
                    for (Outbox o : toWorker) {
                        o.close(Status.CANCELLED.withDescription("the client went away"));
                    }
                }
            };
            toClient.request(1);
        }

        /** The worker with the fewest items outstanding, counted as given one more. */
        private synchronized int pick() {
            int best = 0;
            for (int w = 1; w < outstanding.length; w++) {
                if (outstanding[w] < outstanding[best]) {
                    best = w;
                }
            }
            outstanding[best]++;
            return best;
        }

        private synchronized void answered(int w, int items) {
            outstanding[w] -= items;
        }

        private synchronized boolean lastClosed() {
            return --open == 0;
        }

        private ClientCall.Listener<Frame> fromWorker(int w) {
            return new ClientCall.Listener<>() {
                @Override
                public void onMessage(Frame f) {
                    Items.Reader r = new Items.Reader(f);
                    int n = 0;
                    while (r.next()) {
                        n++;
                    }
                    toClient.addFrame(f);   // every result goes to the one client: forwarded as received
                    answered(w, n);
                    toClient.flush();
                    toWorker[w].request(1);
                }

                @Override
                public void onReady() {
                    toWorker[w].flush();
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    if (!status.isOk()) {
                        toClient.close(Status.UNAVAILABLE.withDescription("L0 worker " + w + " failed: " + status));
                    } else if (lastClosed()) {
                        toClient.flush();
                        toClient.close(Status.OK);
                    }
                }
            };
        }
    }
}
