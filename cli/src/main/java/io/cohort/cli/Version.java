package io.cohort.cli;

import io.cohort.common.Protocol;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine;

/** {@code cohort --version}: the release's version and the protocol version it speaks. */
public final class Version implements CommandLine.IVersionProvider {
    /** The version this build was made as (from a resource Maven fills in). */
    public static String release() {
        Properties p = new Properties();
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("version", "unknown");
    }

    @Override
    public String[] getVersion() {
        return new String[] {"cohort " + release() + " (protocol " + Protocol.VERSION + ")"};
    }
}
