package io.cohort.client;

import io.cohort.common.ChannelSecurity;
import io.cohort.common.Codec;
import io.cohort.common.Protocol;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** Entry points: connect to a running coordinator, or start an embedded local cluster. */
public final class Cohort {
    private Cohort() {}

    /** Connects to a running coordinator at {@code "host:port"}. */
    public static CohortExecutor connect(String target) {
        return connect(ClientConfig.builder().target(target).build());
    }

    /**
     * Connects to a running coordinator. Fails with {@link CohortException} within the
     * config's connect timeout when no coordinator answers there.
     */
    public static CohortExecutor connect(ClientConfig config) {
        return connect(config, null);
    }

    static CohortExecutor connect(ClientConfig config, AutoCloseable cluster) {
        int connectMillis = (int) Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis());
        ChannelSecurity security = new ChannelSecurity(config.trustCertificates().orElse(null),
                config.clientCertificate().orElse(null), config.clientKey().orElse(null),
                config.authToken().orElse(null));
        ManagedChannel channel = security.channelBuilder(config.target())
                .directExecutor()
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES)
                .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectMillis)
                .build();
        ExecutorService own = null;
        java.util.concurrent.Executor callbacks = config.callbackExecutor().orElse(null);
        if (callbacks == null) {
            own = Executors.newCachedThreadPool(daemonThreads("cohort-callback"));
            callbacks = own;
        }
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = Cohort.class.getClassLoader();
        }
        try {
            Session session = Session.open(config.target(), channel, config.clientName(), connectMillis,
                    config.reconnectTimeout().toMillis(), Codec.filtered(config.filter()), loader, callbacks);
            session.shipWith(new TaskCode(CodeShipper.ship(config, channel)));   // the application's code, by hash
            // Ours, or the coordinator's if lower: past its bound it would reject tasks.
            int mine = config.maxInFlight().orElse(Integer.MAX_VALUE);
            int bound = Math.min(mine, session.coordinatorMaxTasks().orElse(Integer.MAX_VALUE));
            long bytes = session.coordinatorMaxTaskBytes().orElse(Long.MAX_VALUE);
            if (bound < Integer.MAX_VALUE || bytes < Long.MAX_VALUE) {
                session.limitInFlight(bound, bytes, config.blockWhenFull());
            }
            return new RemoteExecutor(session, own, config.connectTimeout(), cluster);
        } catch (RuntimeException e) {
            channel.shutdownNow();
            if (own != null) {
                own.shutdown();
            }
            throw e;
        }
    }

    /**
     * Like Python's {@code ProcessPoolExecutor(workers)}: starts a coordinator inside this JVM
     * on a loopback port and {@code workers} worker JVMs (same java binary, this JVM's class
     * path), and returns an executor connected to it as soon as the first worker has attached
     * (tasks submitted meanwhile queue until a worker takes them; {@code clusterInfo()} shows
     * the others as they attach, and {@code map} chunks for all of them). A worker JVM that dies
     * is replaced. {@code close()} stops the workers and the coordinator. Fails with
     * {@link CohortException} when no worker attaches within the start timeout, or at once when
     * every worker JVM exits before attaching. Loopback is not trusted: the coordinator requires
     * a client and a worker token made at random for this cluster (workers get theirs on stdin),
     * so other local users can neither submit nor attach.
     */
    public static CohortExecutor local(int workers) {
        return local(LocalClusterConfig.builder().workers(workers).build());
    }

    public static CohortExecutor local(LocalClusterConfig config) {
        return local(LocalCluster.start(config), config);
    }

    static CohortExecutor local(LocalCluster cluster, LocalClusterConfig config) {
        CohortExecutor executor = null;
        try {
            // The coordinator is in this JVM: only a machine too busy to start it in time
            // would miss the default 10 s, so allow the whole start timeout.
            ClientConfig.Builder client = ClientConfig.builder().target(cluster.target()).authToken(cluster.clientToken())
                    .clientName("cohort-local")
                    .shipCode(false)   // its workers run on this JVM's class path
                    .connectTimeout(config.startTimeout());
            config.deserializationFilter().ifPresent(client::deserializationFilter);
            executor = connect(client.build(), cluster);
            cluster.awaitFirstWorker();
            return executor;
        } catch (RuntimeException e) {
            if (executor != null) {
                executor.close();   // closes the cluster too
            } else {
                cluster.close();
            }
            throw e;
        }
    }

    static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
