package io.cohort.common.metrics;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerStreamTracer;
import java.util.concurrent.atomic.LongAdder;

/**
 * Bytes on the wire of every gRPC call, in and out, as gRPC's stream tracers report them
 * (per message, on the transport's thread: one add each). Thread-safe.
 */
public final class WireBytes {
    private final LongAdder in = new LongAdder();
    private final LongAdder out = new LongAdder();

    public long in() {
        return in.sum();
    }

    public long out() {
        return out.sum();
    }

    /** For a server: {@code builder.addStreamTracerFactory(wire.serverTracer())}. */
    public ServerStreamTracer.Factory serverTracer() {
        ServerStreamTracer tracer = new ServerStreamTracer() {
            @Override
            public void inboundWireSize(long bytes) {
                in.add(bytes);
            }

            @Override
            public void outboundWireSize(long bytes) {
                out.add(bytes);
            }
        };
        return new ServerStreamTracer.Factory() {
            @Override
            public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
                return tracer;   // it holds nothing per stream: one serves all
            }
        };
    }

    /** For a client channel: counts the calls made through it. */
    public ClientInterceptor clientInterceptor() {
        ClientStreamTracer tracer = new ClientStreamTracer() {
            @Override
            public void inboundWireSize(long bytes) {
                in.add(bytes);
            }

            @Override
            public void outboundWireSize(long bytes) {
                out.add(bytes);
            }
        };
        ClientStreamTracer.Factory factory = new ClientStreamTracer.Factory() {
            @Override
            public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
                return tracer;
            }
        };
        return new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                return next.newCall(method, options.withStreamTracerFactory(factory));
            }
        };
    }
}
