package io.cohort.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Why W6 cannot reach 100 ms: how long a JVM takes to be gone after {@code Runtime.halt}, with
 * and without a thread blocked in native code (as every gRPC/netty event loop is). HotSpot's
 * exit waits for such threads, up to 300 ms on JDK 17, before the process ends and its sockets
 * close, which is when the coordinator can first notice.
 *
 * <p>{@code java -cp examples/target/cohort-examples-*-all.jar io.cohort.bench.HaltExit [rounds]}
 */
public final class HaltExit {
    private HaltExit() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("child")) {
            if (args[1].equals("native")) {
                Thread reader = new Thread(() -> {
                    try {
                        System.in.read();   // blocks in native, like an epoll event loop
                    } catch (java.io.IOException ignored) {
                        // the parent went away
                    }
                });
                reader.setDaemon(true);
                reader.start();
                while (reader.getState() != Thread.State.RUNNABLE) {
                    Thread.onSpinWait();
                }
            }
            System.out.println(System.nanoTime());
            System.out.flush();
            Runtime.getRuntime().halt(3);
        }
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        for (int i = 0; i < rounds; i++) {
            for (String mode : new String[] {"no-native-thread", "native"}) {
                Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp", System.getProperty("java.class.path"), HaltExit.class.getName(), "child", mode).start();
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                long haltAt = Long.parseLong(out.readLine().strip());
                p.waitFor();
                System.out.printf("%-16s process gone %.1f ms after Runtime.halt%n", mode, (System.nanoTime() - haltAt) / 1e6);
            }
        }
    }
}
