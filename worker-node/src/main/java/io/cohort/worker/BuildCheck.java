package io.cohort.worker;

import com.google.protobuf.ByteString;
import io.cohort.common.ShippedCode;
import io.cohort.proto.v1.ClassFingerprint;
import io.cohort.proto.v1.CodeRef;
import java.io.IOException;
import java.io.InputStream;

/**
 * "A worker never runs a different build of a class than the client has": every class the
 * client fingerprinted must be found through the task's loader with the same bytes.
 */
final class BuildCheck {
    private BuildCheck() {}

    /** Null when every class matches; else what is wrong, naming the class (and both fingerprints). */
    static String mismatch(CodeRef code, ClassLoader loader, String workerId) {
        boolean shipped = code.getBundlesCount() > 0;
        for (ClassFingerprint f : code.getClassesList()) {
            ByteString mine;
            try (InputStream in = loader.getResourceAsStream(ShippedCode.resourceName(f.getName()))) {
                if (in == null) {
                    return "class " + f.getName() + " not found on worker " + workerId + (shipped
                            ? " nor in the code the client shipped; ship the jar or directory that holds it"
                            + " (ClientConfig.ship) or add it to the worker's --classpath"
                            : "; ship it (ClientConfig.shipCode, the default, or ClientConfig.ship) or add it to"
                            + " the worker's --classpath");
                }
                mine = ShippedCode.sha256(in);
            } catch (IOException e) {
                return "cannot read class " + f.getName() + " on worker " + workerId + ": " + e;
            }
            if (!mine.equals(f.getSha256())) {
                return "worker " + workerId + " has a different build of class " + f.getName() + " than the client"
                        + " (client " + ShippedCode.hex(f.getSha256()) + ", worker " + ShippedCode.hex(mine)
                        + (shipped ? ", not from the shipped code" : "") + "); it does not run it: ship the client's"
                        + " code (ClientConfig.shipCode) or put the same build on the worker's --classpath";
            }
        }
        return null;
    }

    /** Null when this worker serves the client's API version, else a message naming both. */
    static String unsupported(CodeRef code, String workerId) {
        if (code.getApiVersion() > ShippedCode.API_VERSION) {
            return "the client speaks Cohort API version " + code.getApiVersion() + "; worker " + workerId
                    + " serves up to version " + ShippedCode.API_VERSION + ": upgrade the worker";
        }
        return null;
    }
}
