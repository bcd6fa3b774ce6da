package io.cohort.client;

import com.google.protobuf.ByteString;
import io.cohort.common.ShippedCode;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.Bundle;
import io.cohort.proto.v1.CodeRef;
import java.util.List;

/**
 * What a session puts in front of each task body: the bundles it shipped and the fingerprints
 * of the application classes the body uses (see {@link ShippedCode}). Thread-safe.
 */
final class TaskCode {
    private final List<Bundle> bundles;
    private final ClassFingerprints fingerprints = new ClassFingerprints();

    TaskCode(List<Bundle> bundles) {
        this.bundles = List.copyOf(bundles);
    }

    ByteString wrap(TaskBody body, ByteString encoded) {
        CodeRef code = CodeRef.newBuilder().setApiVersion(ShippedCode.API_VERSION).addAllBundles(bundles)
                .addAllClasses(fingerprints.of(TaskBodies.userTask(body))).build();
        if (code.getBundlesCount() == 0 && code.getClassesCount() == 0) {
            return encoded;
        }
        return ShippedCode.wrap(code, encoded);
    }
}
