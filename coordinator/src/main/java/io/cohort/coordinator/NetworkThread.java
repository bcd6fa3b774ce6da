package io.cohort.coordinator;

import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's one network thread: it accepts connections and does every stream's I/O,
 * and the scheduler runs on it too (it is the SchedulerLoop's home). A message then costs one
 * wake-up: the thread that reads it schedules and writes the answers. The scheduler is one
 * thread by design, so more network threads would only hand messages to it.
 */
final class NetworkThread implements AutoCloseable {
    private final EventLoopGroup group;
    private final boolean epoll;

    NetworkThread() {
        // netty's own factory: its FastThreadLocalThreads get the buffer pool's per-thread caches
        DefaultThreadFactory threads = new DefaultThreadFactory("cohort-coordinator", true);
        epoll = Epoll.isAvailable();
        group = epoll ? new EpollEventLoopGroup(1, threads) : new NioEventLoopGroup(1, threads);
    }

    /** {@code builder} serving on this thread. */
    NettyServerBuilder apply(NettyServerBuilder builder) {
        return builder.bossEventLoopGroup(group).workerEventLoopGroup(group)
                .channelType(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class);
    }

    /** Where the scheduler runs. */
    ScheduledExecutorService home() {
        return group.next();
    }

    /** Stops the thread; call once the server and the scheduler have stopped. */
    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
