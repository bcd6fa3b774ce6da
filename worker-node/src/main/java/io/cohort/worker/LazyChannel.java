package io.cohort.worker;

import io.cohort.common.ChannelSecurity;
import io.cohort.common.Protocol;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;

/**
 * A channel to a target, with its daemon's TLS and token, that is only built on its first call. A child JVM installs
 * one for {@link io.cohort.common.TaskContext}: most children never talk to the coordinator,
 * and building a channel loads the transport and starts its threads, which slows every child's
 * start. Thread-safe; lives as long as its JVM.
 */
final class LazyChannel extends Channel {
    private final String target;
    private final ChannelSecurity security;
    private volatile ManagedChannel channel;

    LazyChannel(String target, ChannelSecurity security) {
        this.target = target;
        this.security = security;
    }

    private ManagedChannel channel() {
        ManagedChannel c = channel;
        if (c == null) {
            synchronized (this) {
                c = channel;
                if (c == null) {
                    c = security.channelBuilder(target).maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).build();
                    channel = c;
                }
            }
        }
        return c;
    }

    @Override
    public <Q, R> ClientCall<Q, R> newCall(MethodDescriptor<Q, R> method, CallOptions options) {
        return channel().newCall(method, options);
    }

    @Override
    public String authority() {
        return channel().authority();
    }
}
