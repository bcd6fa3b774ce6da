package io.cohort.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.cohort.common.ChannelSecurity;
import io.cohort.common.Protocol;
import io.cohort.proto.v1.AdminServiceGrpc;
import io.cohort.proto.v1.AttachRequest;
import io.cohort.proto.v1.ClientHello;
import io.cohort.proto.v1.ClientServiceGrpc;
import io.cohort.proto.v1.SessionRequest;
import io.cohort.proto.v1.StatusRequest;
import io.cohort.proto.v1.WorkerHello;
import io.cohort.proto.v1.WorkerServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Exception;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Headers;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile input on the TLS and token paths of one real coordinator (TLS, a client token and a
 * worker token, on 127.0.0.1), which stays up across every case:
 *
 * <ul>
 *   <li>calls over good TLS, spoken in raw HTTP/2 frames, whose {@code authorization} headers
 *       are missing, empty, of a wrong scheme, a mutated or truncated token, random bytes (any
 *       byte, CR/LF and NUL included), huge (up to 1 MiB, in CONTINUATION frames), the other
 *       role's token, or several headers; each on a client session, a worker attach or a
 *       status call, with a valid first message. Each must be refused with the status the
 *       {@code Authenticator} gives it (UNAUTHENTICATED or PERMISSION_DENIED) and receive no
 *       message; a header the transport itself refuses (bytes HTTP/2 forbids, over the header
 *       list limit) may instead end the stream or the connection, but never be answered.</li>
 *   <li>raw sockets on the TLS port: random bytes, a plaintext HTTP/2 preface or HTTP/1.1
 *       request, a truncated or bit-flipped ClientHello, junk after a real ClientHello, a TLS
 *       record header announcing a huge record, junk inside a completed TLS session. Each
 *       connection must be closed by the coordinator.</li>
 * </ul>
 *
 * <p>After every case, a good client and worker (with their tokens, over TLS) complete fresh
 * tasks exactly once with their own results, and the coordinator answers status. Seeds are
 * fixed; counts and time are bounded (see {@link Fuzz}).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TlsTokenFuzzTest {
    private static final String CLIENT_TOKEN = "client-token-5f2c81";
    private static final String WORKER_TOKEN = "worker-token-9a4107";
    /** gRPC's default limit on the size of a header list (Netty's too). */
    private static final int HEADER_LIST_LIMIT = 8192;
    /** HTTP/2 frame types and flags used here. */
    private static final int DATA = 0;
    private static final int HEADERS = 1;
    private static final int RST_STREAM = 3;
    private static final int GOAWAY = 7;
    private static final int CONTINUATION = 9;
    private static final int END_STREAM = 0x1;
    private static final int END_HEADERS = 0x4;
    private static final int MAX_FRAME = 16_384;
    private static final int GOOD_TASKS_PER_CASE = 2;

    @TempDir
    static Path dir;
    private static TestCertificates certs;
    private static CoordinatorServer server;
    private static ManagedChannel clientChannel;
    private static ManagedChannel workerChannel;
    private static GoodPair good;
    private static SSLContext trusting;
    private static byte[] clientHello;

    @BeforeAll
    static void start() throws Exception {
        certs = TestCertificates.create(dir);
        server = CoordinatorServer.start(CoordinatorConfig.builder().host("127.0.0.1").port(0)
                .tls(certs.serverCert(), certs.serverKey()).tokens(CLIENT_TOKEN, WORKER_TOKEN).build());
        clientChannel = new ChannelSecurity(certs.caCert(), null, null, CLIENT_TOKEN).channelBuilder(server.target())
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).build();
        workerChannel = new ChannelSecurity(certs.caCert(), null, null, WORKER_TOKEN).channelBuilder(server.target())
                .maxInboundMessageSize(Protocol.MAX_MESSAGE_BYTES).build();
        good = new GoodPair(clientChannel, workerChannel);
        trusting = trusting(certs.caCert());
        clientHello = clientHello();
    }

    @AfterAll
    static void stop() throws Exception {
        if (good != null) {
            good.close();
        }
        for (ManagedChannel ch : new ManagedChannel[] {clientChannel, workerChannel}) {
            if (ch != null) {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
        if (server != null) {
            server.close();
        }
    }

    // ---- authorization metadata

    enum Call { SESSION, ATTACH, STATUS }

    /** One hostile call: which RPC, the authorization header values in order (none: no header), and how they were made. */
    record AuthCase(Call call, List<byte[]> values, String kind) {
        @Override
        public String toString() {
            StringBuilder b = new StringBuilder(call + " " + kind + ":");
            for (byte[] v : values) {
                b.append(' ').append(v.length > 80 ? v.length + " bytes" : HexFormat.of().formatHex(v));
            }
            return b.toString();
        }
    }

    private static String rightToken(Call call) {
        return call == Call.ATTACH ? WORKER_TOKEN : CLIENT_TOKEN;
    }

    private static String otherToken(Call call) {
        return call == Call.ATTACH ? CLIENT_TOKEN : WORKER_TOKEN;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static AuthCase authCase(Random r) {
        Call call = Call.values()[r.nextInt(Call.values().length)];
        String right = rightToken(call);
        String any = r.nextBoolean() ? right : otherToken(call);
        String[] schemes = {"Basic ", "bearer ", "BEARER ", "Token ", "Bearer", " Bearer ", "Bearer\t", "Bearer  ", ""};
        byte[] value;
        String kind;
        switch (r.nextInt(10)) {
            case 0 -> {
                return new AuthCase(call, List.of(), "none");
            }
            case 1 -> {
                value = ascii(r.nextBoolean() ? "" : "Bearer ");
                kind = "empty";
            }
            case 2 -> {
                value = ascii(schemes[r.nextInt(schemes.length)] + any);
                kind = "wrong-scheme";
            }
            case 3 -> {
                byte[] junk = new byte[r.nextInt(200)];
                r.nextBytes(junk);
                value = r.nextBoolean() ? concat(ascii("Bearer "), junk) : junk;
                kind = "random-bytes";
            }
            case 4 -> {
                char[] token = new char[1 + r.nextInt(64)];
                for (int i = 0; i < token.length; i++) {
                    token[i] = (char) (0x21 + r.nextInt(0x5e));
                }
                value = ascii("Bearer " + new String(token));
                kind = "random-token";
            }
            case 5, 6 -> {
                value = ascii("Bearer " + mutate(r, right));
                kind = "mutated";
            }
            case 7 -> {
                int[] sizes = {HEADER_LIST_LIMIT - 100, HEADER_LIST_LIMIT + 1, 64 * 1024, 1024 * 1024};
                byte[] pad = new byte[sizes[r.nextInt(sizes.length)]];
                Arrays.fill(pad, (byte) ('A' + r.nextInt(26)));
                value = r.nextBoolean() ? concat(ascii("Bearer " + right), pad) : concat(ascii("Bearer "), pad);
                kind = "huge";
            }
            case 8 -> {
                value = ascii("Bearer " + otherToken(call));
                kind = "other-role";
            }
            default -> {
                // several headers: the coordinator reads the last; here it is never the right token
                List<byte[]> values = new ArrayList<>();
                values.add(ascii("Bearer " + (r.nextBoolean() ? right : mutate(r, right))));
                values.add(ascii(r.nextBoolean() ? "Bearer " + otherToken(call) : "Bearer " + mutate(r, right)));
                return new AuthCase(call, values, "two-headers");
            }
        }
        return new AuthCase(call, List.of(value), kind);
    }

    /** The token changed so that it is no longer the token: truncated, extended, a character changed, case or space. */
    private static String mutate(Random r, String token) {
        String m;
        do {
            m = switch (r.nextInt(6)) {
                case 0 -> token.substring(0, r.nextInt(token.length()));
                case 1 -> token + (char) (0x21 + r.nextInt(0x5e));
                case 2 -> {
                    char[] c = token.toCharArray();
                    int i = r.nextInt(c.length);
                    c[i] = (char) (0x21 + r.nextInt(0x5e));
                    yield new String(c);
                }
                case 3 -> token.toUpperCase();
                case 4 -> r.nextBoolean() ? " " + token : token + " ";
                default -> token.substring(1);
            };
        } while (m.equals(token));
        return m;
    }

    /**
     * The code the coordinator's Authenticator gives the case, or null when the header
     * cannot reach it intact (bytes outside printable ASCII, or over the header list limit).
     */
    private static Status.Code expected(AuthCase c) {
        int size = 0;
        for (byte[] v : c.values()) {
            size += v.length;
            for (byte b : v) {
                if (b < 0x20 || b > 0x7e) {
                    return null;
                }
            }
        }
        if (size > HEADER_LIST_LIMIT - 200) {
            return null;
        }
        if (c.values().isEmpty()) {
            return Status.Code.UNAUTHENTICATED;
        }
        String last = new String(c.values().get(c.values().size() - 1), StandardCharsets.US_ASCII);
        if (last.equals("Bearer " + rightToken(c.call()))) {
            throw new AssertionError("the generator made a valid header: " + c);
        }
        return last.equals("Bearer " + otherToken(c.call())) ? Status.Code.PERMISSION_DENIED : Status.Code.UNAUTHENTICATED;
    }

    /**
     * How a hostile call ended: the grpc-status of its trailers (-1 if none), the HTTP
     * :status, whether a message came back, and how the stream or connection ended.
     */
    record Outcome(int grpcStatus, String httpStatus, boolean answered, String end) {}

    /**
     * Makes the case's call in raw HTTP/2 over TLS (the gRPC client drops header values that are
     * not printable ASCII before sending; an attacker need not): the request headers with the
     * case's authorization values, then one request message and the end of the stream.
     */
    private static Outcome runHostile(AuthCase c) throws Exception {
        String path;
        byte[] message;
        switch (c.call()) {
            case SESSION -> {
                path = "/" + ClientServiceGrpc.getSessionMethod().getFullMethodName();
                message = SessionRequest.newBuilder().setHello(ClientHello.newBuilder()
                        .setProtocolVersion(Protocol.VERSION).setClientName("hostile")).build().toByteArray();
            }
            case ATTACH -> {
                path = "/" + WorkerServiceGrpc.getAttachMethod().getFullMethodName();
                message = AttachRequest.newBuilder().setHello(WorkerHello.newBuilder().setProtocolVersion(Protocol.VERSION)
                        .setWorkerId("hostile").setSlots(1).addLabels(GoodPair.TRUSTED)).build().toByteArray();
            }
            default -> {
                path = "/" + AdminServiceGrpc.getStatusMethod().getFullMethodName();
                message = StatusRequest.getDefaultInstance().toByteArray();
            }
        }
        Http2Headers headers = new DefaultHttp2Headers(false)
                .method("POST").scheme("https").path(path).authority(server.target())
                .add("content-type", "application/grpc").add("te", "trailers");
        for (byte[] v : c.values()) {
            headers.add("authorization", new AsciiString(v, false));
        }
        ByteBuf block = Unpooled.buffer();
        new DefaultHttp2HeadersEncoder().encodeHeaders(1, headers, block);
        byte[] blockBytes = new byte[block.readableBytes()];
        block.readBytes(blockBytes);
        block.release();
        try (SSLSocket s = tlsSocket()) {
            assertEquals("h2", s.getApplicationProtocol());
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
            try {
                out.write(ascii("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
                frame(out, 4, 0, 0, new byte[0]);   // our SETTINGS: the defaults
                for (int at = 0; at == 0 || at < blockBytes.length; at += MAX_FRAME) {
                    byte[] part = Arrays.copyOfRange(blockBytes, at, Math.min(blockBytes.length, at + MAX_FRAME));
                    boolean last = at + MAX_FRAME >= blockBytes.length;
                    frame(out, at == 0 ? HEADERS : CONTINUATION, last ? END_HEADERS : 0, 1, part);
                }
                byte[] grpcMessage = new byte[5 + message.length];
                grpcMessage[1] = (byte) (message.length >>> 24);
                grpcMessage[2] = (byte) (message.length >>> 16);
                grpcMessage[3] = (byte) (message.length >>> 8);
                grpcMessage[4] = (byte) message.length;
                System.arraycopy(message, 0, grpcMessage, 5, message.length);
                frame(out, DATA, END_STREAM, 1, grpcMessage);
                out.flush();
            } catch (IOException closedByServer) {
                // refused while we wrote: what was received tells how
            }
            return read(new DataInputStream(new BufferedInputStream(s.getInputStream())));
        }
    }

    private static void frame(DataOutputStream out, int type, int flags, int stream, byte[] payload) throws IOException {
        out.writeByte(payload.length >>> 16);
        out.writeShort(payload.length & 0xffff);
        out.writeByte(type);
        out.writeByte(flags);
        out.writeInt(stream);
        out.write(payload);
    }

    /** Reads the server's frames until stream 1 ends, is reset, or the connection goes away. */
    private static Outcome read(DataInputStream in) throws IOException {
        DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);
        int grpcStatus = -1;
        String httpStatus = null;
        boolean answered = false;
        ByteArrayOutputStream pending = new ByteArrayOutputStream();
        boolean pendingEndsStream = false;
        try {
            while (true) {
                int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
                int type = in.readUnsignedByte();
                int flags = in.readUnsignedByte();
                int stream = in.readInt() & 0x7fffffff;
                byte[] payload = in.readNBytes(length);
                if (payload.length < length) {
                    return new Outcome(grpcStatus, httpStatus, answered, "closed");
                }
                if (type == GOAWAY) {
                    return new Outcome(grpcStatus, httpStatus, answered, "goaway");
                }
                if (stream != 1) {
                    continue;   // SETTINGS, PING, WINDOW_UPDATE of the connection
                }
                if (type == DATA && length > 0) {
                    answered = true;
                } else if (type == RST_STREAM) {
                    return new Outcome(grpcStatus, httpStatus, answered, "reset");
                } else if (type == HEADERS || type == CONTINUATION) {
                    if (type == HEADERS) {
                        pending.reset();
                        pendingEndsStream = (flags & END_STREAM) != 0;
                        int skip = ((flags & 0x8) != 0 ? 1 + (payload[0] & 0xff) : 0) + ((flags & 0x20) != 0 ? 5 : 0);
                        pending.write(payload, skip, payload.length - skip - ((flags & 0x8) != 0 ? payload[0] & 0xff : 0));
                    } else {
                        pending.write(payload);
                    }
                    if ((flags & END_HEADERS) != 0) {
                        Http2Headers h = decoder.decodeHeaders(1, Unpooled.wrappedBuffer(pending.toByteArray()));
                        if (h.status() != null) {
                            httpStatus = h.status().toString();
                        }
                        CharSequence code = h.get("grpc-status");
                        if (code != null) {
                            grpcStatus = Integer.parseInt(code.toString());
                        }
                        if (pendingEndsStream) {
                            return new Outcome(grpcStatus, httpStatus, answered, "trailers");
                        }
                    }
                }
                if (type == DATA && (flags & END_STREAM) != 0) {
                    return new Outcome(grpcStatus, httpStatus, answered, "end");
                }
            }
        } catch (EOFException | SocketException closed) {
            return new Outcome(grpcStatus, httpStatus, answered, "closed");
        } catch (Http2Exception e) {
            throw new AssertionError("the coordinator's response headers do not decode", e);
        }
    }

    /**
     * The call must receive no message, and end with the Authenticator's status; a header the
     * transport refuses (bytes HTTP/2 forbids, over the header list limit) may instead end the
     * stream or connection (reset, GOAWAY, close, an HTTP error status) or with UNAUTHENTICATED.
     */
    private static void checkRefused(AuthCase c, Outcome o) {
        assertTrue(!o.answered(), () -> "a hostile call was answered: " + o);
        Status.Code want = expected(c);
        if (want != null) {
            assertEquals(want.value(), o.grpcStatus(), () -> "expected " + want + ", ended with " + o);
        } else {
            boolean refusedByTransport = o.grpcStatus() == -1
                    && (!o.end().equals("trailers") || !"200".equals(o.httpStatus()));
            assertTrue(refusedByTransport || o.grpcStatus() == Status.Code.UNAUTHENTICATED.value()
                    || o.grpcStatus() == Status.Code.PERMISSION_DENIED.value(), () -> "ended with " + o);
        }
    }

    /** After each case: the good pair's fresh tasks complete exactly once, and the coordinator answers. */
    private static void goodPairStillWorks(Random r) throws InterruptedException {
        good.submit(r, GOOD_TASKS_PER_CASE);
        good.awaitAll();
        assertTrue(AdminServiceGrpc.newBlockingStub(clientChannel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .status(StatusRequest.getDefaultInstance()).getWorkersCount() >= 1);
    }

    @Test
    void hostileAuthorizationMetadataIsRefused() {
        int cases = Fuzz.check("authorization-metadata", 21, 400, Duration.ofSeconds(15), TlsTokenFuzzTest::authCase,
                c -> {
                    checkRefused(c, runHostile(c));
                    goodPairStillWorks(new Random(c.toString().hashCode()));
                });
        assertTrue(cases >= 20, "only " + cases + " cases ran");
        good.assertStreamsOpen();
    }

    // ---- raw bytes on the TLS port

    enum Junk { RANDOM, H2_PREFACE, HTTP1, TRUNCATED_HELLO, FLIPPED_HELLO, JUNK_AFTER_HELLO, HUGE_RECORD, JUNK_IN_TLS }

    record SocketCase(Junk kind, long seed) {}

    private static SocketCase socketCase(Random r) {
        return new SocketCase(Junk.values()[r.nextInt(Junk.values().length)], r.nextLong());
    }

    /** The bytes a case sends (JUNK_IN_TLS: sent inside the TLS session). */
    private static byte[] bytes(SocketCase c) {
        Random r = new Random(c.seed());
        byte[] junk = new byte[1 + r.nextInt(4096)];
        r.nextBytes(junk);
        return switch (c.kind()) {
            case RANDOM, JUNK_AFTER_HELLO, JUNK_IN_TLS -> junk;
            case H2_PREFACE -> concat(ascii("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
                    r.nextBoolean() ? new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0} : junk);
            case HTTP1 -> ascii("GET /cohort.v1.AdminService/Status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            case TRUNCATED_HELLO -> Arrays.copyOf(clientHello, 1 + r.nextInt(clientHello.length - 1));
            case FLIPPED_HELLO -> {
                byte[] flipped = clientHello.clone();
                for (int i = 1 + r.nextInt(4); i > 0; i--) {
                    int bit = r.nextInt(flipped.length * 8);
                    flipped[bit / 8] ^= (byte) (1 << (bit % 8));
                }
                yield flipped;
            }
            case HUGE_RECORD -> concat(new byte[] {0x16, 0x03, 0x01, (byte) 0xff, (byte) 0xff}, junk);
        };
    }

    /** Sends the case's bytes, half-closes, and requires the coordinator to close within 10 s. */
    private static void runSocket(SocketCase c) throws Exception {
        byte[] payload = bytes(c);
        if (c.kind() == Junk.JUNK_IN_TLS) {
            try (SSLSocket s = tlsSocket()) {
                writeQuietly(s.getOutputStream(), payload);
                awaitClose(s.getInputStream(), c);   // an SSLSocket cannot half-close: wait for the server
            }
            return;
        }
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            if (c.kind() == Junk.JUNK_AFTER_HELLO) {
                writeQuietly(out, clientHello);
                s.setSoTimeout(2_000);
                try {
                    s.getInputStream().read(new byte[16 * 1024]);   // the server's first flight
                } catch (SocketTimeoutException | java.net.SocketException ignored) {
                    // nothing yet, or already closed
                }
                s.setSoTimeout(10_000);
            }
            writeQuietly(out, payload);
            try {
                s.shutdownOutput();
            } catch (IOException closed) {
                // the server closed first
            }
            awaitClose(s.getInputStream(), c);
        }
    }

    private static void writeQuietly(OutputStream out, byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException closedByServer) {
            // the server may close while we write
        }
    }

    private static void awaitClose(InputStream in, SocketCase c) {
        byte[] buffer = new byte[8192];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try {
            while (in.read(buffer) >= 0) {
                if (System.nanoTime() > deadline) {
                    fail("the coordinator kept sending on a junk connection: " + c);
                }
            }
        } catch (SocketTimeoutException e) {
            fail("the coordinator kept a junk connection open for 10 s: " + c);
        } catch (IOException reset) {
            // a reset or a TLS alert: closed
        }
    }

    @Test
    void garbageOnTheTlsPortIsClosed() {
        int cases = Fuzz.check("tls-port-bytes", 22, 200, Duration.ofSeconds(15), TlsTokenFuzzTest::socketCase, c -> {
            runSocket(c);
            goodPairStillWorks(new Random(c.seed()));
        });
        assertTrue(cases >= 20, "only " + cases + " cases ran");
        good.assertStreamsOpen();
    }

    // ---- helpers

    private static SSLContext trusting(Path caPem) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caPem)) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** A TLS connection to the coordinator that trusts its CA, offers h2, and has completed its handshake. */
    private static SSLSocket tlsSocket() throws IOException {
        SSLSocket s = (SSLSocket) trusting.getSocketFactory().createSocket("127.0.0.1", server.port());
        SSLParameters p = s.getSSLParameters();
        p.setApplicationProtocols(new String[] {"h2"});
        s.setSSLParameters(p);
        s.setSoTimeout(10_000);
        s.startHandshake();
        return s;
    }

    /** A real ClientHello for 127.0.0.1 offering h2, as the JDK's TLS client sends it. */
    private static byte[] clientHello() throws Exception {
        SSLEngine engine = trusting.createSSLEngine("127.0.0.1", server.port());
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setApplicationProtocols(new String[] {"h2"});
        engine.setSSLParameters(p);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] hello = new byte[out.remaining()];
        out.get(hello);
        assertTrue(hello.length > 50 && hello[0] == 0x16, "not a TLS handshake record");
        return hello;
    }
}
