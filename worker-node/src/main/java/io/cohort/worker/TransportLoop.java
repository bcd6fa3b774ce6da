package io.cohort.worker;

import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The one network thread of a worker's channel, woken every {@link #WAKE_MS} ms.
 *
 * <p>Why the wake-ups: when a task ends its JVM ({@code Runtime.halt}, {@code System.exit}),
 * HotSpot waits up to 300 ms for threads inside native code to leave it before the process
 * ends (hotspot {@code VM_Exit::wait_for_threads_in_native_to_block}, not configurable on JDK
 * 17). An idle event loop sits in {@code epoll_wait} the whole time, so the coordinator would
 * learn of the lost worker only 300 ms later. Woken this often, the loop leaves native code
 * within one period and the exit is not held up. It costs about 100 wake-ups a second, which
 * also flush what was left to linger ({@link #onTick}): from this thread a write needs no
 * wake-up of its own.
 */
final class TransportLoop implements AutoCloseable {
    static final long WAKE_MS = 10;

    private final EventLoopGroup group;
    private final boolean epoll;
    private volatile Runnable tick = () -> { };

    TransportLoop() {
        // netty's own factory: its FastThreadLocalThreads get the buffer pool's per-thread caches
        ThreadFactory threads = new DefaultThreadFactory("cohort-worker-transport", true);
        epoll = Epoll.isAvailable();
        group = epoll ? new EpollEventLoopGroup(1, threads) : new NioEventLoopGroup(1, threads);
        group.next().scheduleAtFixedRate(() -> tick.run(), WAKE_MS, WAKE_MS, TimeUnit.MILLISECONDS);
    }

    /** {@code builder} with its transport on this loop. */
    NettyChannelBuilder apply(NettyChannelBuilder builder) {
        return builder.eventLoopGroup(group).channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class);
    }

    /** Runs {@code action} on this thread at every wake-up; it must be quick and must not throw. */
    void onTick(Runnable action) {
        tick = action;
    }

    /** Stops the thread; call after the channels on it are shut down. */
    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
