package io.cohort.deploy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSSH server of the test's own: generated host and user keys, its own config, listening
 * on a port of 127.0.0.2 and 127.0.0.3 (two "hosts"), and an ssh_config that trusts exactly its
 * host key. Stopped by its pid on close.
 */
final class Sshd implements AutoCloseable {
    static final Path SSHD = Path.of("/usr/sbin/sshd");
    static final List<String> ADDRESSES = List.of("127.0.0.2", "127.0.0.3");

    final Path dir;
    final Path sshConfig;
    final int port;
    private final Process process;

    private Sshd(Path dir, Path sshConfig, int port, Process process) {
        this.dir = dir;
        this.sshConfig = sshConfig;
        this.port = port;
        this.process = process;
    }

    /** user@address:port for each address, for a hosts file. */
    List<String> hosts() {
        String user = System.getProperty("user.name");
        return ADDRESSES.stream().map(a -> user + "@" + a + ":" + port).toList();
    }

    static Sshd start(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Run.of(Duration.ofSeconds(30), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve("host_key").toString()).ok();
        Run.of(Duration.ofSeconds(30), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve("user_key").toString()).ok();
        Files.copy(dir.resolve("user_key.pub"), dir.resolve("authorized_keys"));
        if ("root".equals(System.getProperty("user.name"))) {
            Files.createDirectories(Path.of("/run/sshd"));   // sshd's privilege separation directory
        }
        Path sshConfig = dir.resolve("ssh_config");
        Files.writeString(sshConfig, "Host *\n  IdentityFile " + dir.resolve("user_key") + "\n  IdentitiesOnly yes\n"
                + "  UserKnownHostsFile " + dir.resolve("known_hosts") + "\n  StrictHostKeyChecking yes\n");
        String hostKey = Files.readString(dir.resolve("host_key.pub")).trim();
        // A port found free may be taken before sshd binds it: then try another.
        for (int attempt = 1; ; attempt++) {
            int port = freePort();
            Path config = dir.resolve("sshd_config");
            Files.writeString(config, "Port " + port + "\n"
                    + ADDRESSES.stream().map(a -> "ListenAddress " + a + "\n").reduce("", String::concat)
                    + "HostKey " + dir.resolve("host_key") + "\nPidFile " + dir.resolve("sshd.pid") + "\n"
                    + "AuthorizedKeysFile " + dir.resolve("authorized_keys") + "\nStrictModes no\n"
                    + "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                    + "PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n");   // scp speaks SFTP
            Files.writeString(dir.resolve("known_hosts"), ADDRESSES.stream()
                    .map(a -> "[" + a + "]:" + port + " " + hostKey + "\n").reduce("", String::concat));
            Path log = dir.resolve("sshd.log");
            Process p = new ProcessBuilder(SSHD.toString(), "-f", config.toString(), "-D", "-e")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && p.isAlive()
                    && ADDRESSES.stream().anyMatch(a -> !read(log).contains("listening on " + a + " port " + port))) {
                Thread.sleep(50);
            }
            if (p.isAlive() && ADDRESSES.stream().allMatch(a -> read(log).contains("listening on " + a + " port " + port))) {
                return new Sshd(dir, sshConfig, port, p);
            }
            p.destroyForcibly().waitFor();
            if (attempt == 3) {
                throw new IllegalStateException("sshd did not start:\n" + read(log));
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(ADDRESSES.get(0)))) {
            return s.getLocalPort();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
