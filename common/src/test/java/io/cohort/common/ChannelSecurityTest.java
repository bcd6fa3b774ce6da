package io.cohort.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokens: read only from files that are their owner's alone, and never sent in plaintext without a word. */
class ChannelSecurityTest {
    @TempDir
    Path dir;

    @Test
    void aTokenFileOthersMayReadIsRefusedNamingTheFixAndAnOwnersOnlyOneIsRead() throws Exception {
        Path open = Files.writeString(dir.resolve("open.token"), "secret\n");
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChannelSecurity.readToken(open));
        assertTrue(e.getMessage().contains("rw-r--r--") && e.getMessage().contains("chmod 600 " + open), e.getMessage());

        Path group = Files.writeString(dir.resolve("group.token"), "secret\n");
        Files.setPosixFilePermissions(group, PosixFilePermissions.fromString("rw-r-----"));
        assertThrows(IllegalArgumentException.class, () -> ChannelSecurity.readToken(group));

        Path mine = Files.writeString(dir.resolve("mine.token"), "secret\n");
        Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rw-------"));
        assertEquals("secret", ChannelSecurity.readToken(mine));
    }

    @Test
    void aTokenInPlaintextBeyondLoopbackIsCalledOutAndNowhereElse() {
        ChannelSecurity plainToken = new ChannelSecurity(null, null, null, "t");
        String warning = plainToken.exposesToken("192.0.2.7:7070");
        assertNotNull(warning, "a documentation address is not loopback");
        assertTrue(warning.contains("plaintext") && warning.contains("TLS"), warning);
        assertNull(plainToken.exposesToken("127.0.0.1:7070"));
        assertNull(plainToken.exposesToken("localhost:7070"));
        assertNull(plainToken.exposesToken("[::1]:7070"));
        assertNull(ChannelSecurity.PLAINTEXT.exposesToken("192.0.2.7:7070"), "no token, nothing to give away");
    }
}
