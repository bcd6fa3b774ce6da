package io.cohort.bench.l0;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * One network thread for every server and channel of a relay process, with gRPC's callbacks run
 * on it ({@code directExecutor()}): a message is handled, and the next hop written, on the
 * thread that read it, with no hand-off to another thread.
 */
final class Loop implements AutoCloseable {
    private final boolean epoll = Epoll.isAvailable();
    private final EventLoopGroup group;

    Loop(String name) {
        // netty's own thread factory: its threads get the buffer pool's per-thread caches
        DefaultThreadFactory threads = new DefaultThreadFactory(name, true);
        group = epoll ? new EpollEventLoopGroup(1, threads) : new NioEventLoopGroup(1, threads);
    }

    /** A plaintext server on 127.0.0.1, any free port, on this loop. */
    NettyServerBuilder server() {
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .bossEventLoopGroup(group).workerEventLoopGroup(group)
                .channelType(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .directExecutor()
                .maxInboundMessageSize(Frame.MAX_MESSAGE_BYTES)
                .flowControlWindow(Frame.FLOW_CONTROL_WINDOW);
    }

    /** A plaintext channel to {@code target} on this loop. */
    ManagedChannel channel(String target) {
        return NettyChannelBuilder.forTarget(target)
                .eventLoopGroup(group)
                .channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .usePlaintext()
                .directExecutor()
                .maxInboundMessageSize(Frame.MAX_MESSAGE_BYTES)
                .flowControlWindow(Frame.FLOW_CONTROL_WINDOW)
                .build();
    }

    static String target(Server server) {
        return "127.0.0.1:" + server.getPort();
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
