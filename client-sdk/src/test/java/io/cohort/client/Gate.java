package io.cohort.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A latch that tasks on worker JVMs wait on, over a loopback socket: a task calls
 * {@link Handle#pass()}, which blocks until the test calls {@link #open()}; the test can wait
 * until a number of tasks have arrived. Waiting tasks stay interruptible.
 */
final class Gate implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> arrivals = new ArrayList<>();   // guarded by itself
    private final Semaphore arrived = new Semaphore(0);
    private volatile boolean open;
    private final Thread acceptor;

    Gate() throws IOException {
        server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::acceptLoop, "gate-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** What tasks capture: just the port. */
    Handle handle() {
        return new Handle(server.getLocalPort());
    }

    /** Waits until {@code n} more tasks have reached the gate. */
    boolean awaitArrivals(int n, long seconds) throws InterruptedException {
        return arrived.tryAcquire(n, seconds, TimeUnit.SECONDS);
    }

    /** Lets every waiting and later task through. */
    void open() {
        synchronized (arrivals) {
            open = true;
            arrivals.forEach(Gate::release);
            arrivals.clear();
        }
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                synchronized (arrivals) {
                    if (open) {
                        release(s);
                    } else {
                        arrivals.add(s);
                    }
                }
                arrived.release();
            } catch (IOException closed) {
                return;
            }
        }
    }

    private static void release(Socket s) {
        try (s) {
            s.getOutputStream().write(1);
        } catch (IOException ignored) {
            // the task is gone (killed or interrupted)
        }
    }

    @Override
    public void close() throws IOException {
        open();
        server.close();
    }

    record Handle(int port) implements Serializable {
        /** Blocks until the gate opens; throws InterruptedException if the task is interrupted. */
        void pass() throws IOException, InterruptedException {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                s.setSoTimeout(20);
                InputStream in = s.getInputStream();
                while (true) {
                    if (Thread.interrupted()) {
                        throw new InterruptedException("interrupted at the gate");
                    }
                    try {
                        if (in.read() >= 0) {
                            return;
                        }
                        throw new IOException("gate closed");
                    } catch (SocketTimeoutException stillShut) {
                        // check for an interrupt, then wait again
                    }
                }
            }
        }
    }
}
