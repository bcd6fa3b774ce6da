package io.cohort.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.common.Codec;
import io.cohort.common.ShippedCode;
import io.cohort.common.TaskBody;
import io.cohort.proto.v1.ClassFingerprint;
import io.cohort.proto.v1.CodeRef;
import io.cohort.proto.v1.FunctionDef;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerTaskResult;
import org.junit.jupiter.api.Test;

/** Task bodies that carry a code reference, run by a worker's TaskRunner with no shipped bundles. */
class ShippedBodiesTest {
    private static final Codec CODEC = Codec.standard();
    private final TaskRunner runner = new TaskRunner(CODEC, ShippedBodiesTest.class.getClassLoader());

    /** A body whose class this worker has; what a client puts in front says what it expects. */
    static final class Six implements TaskBody {
        @Override
        public Object call(Object input) {
            return 6 * 7;
        }
    }

    private WorkerTaskResult run(CodeRef code) {
        ByteString body = ShippedCode.wrap(code, CODEC.encode(new Six()));
        return runner.run(TaskAssign.newBuilder().setTaskKey(1).setSpec(TaskSpec.newBuilder().setBody(body)).build(), "w-1");
    }

    private static ClassFingerprint fingerprint(String name, ByteString sha) {
        return ClassFingerprint.newBuilder().setName(name).setSha256(sha).build();
    }

    private static ByteString sha(Class<?> c) throws Exception {
        return ShippedCode.sha256(c.getClassLoader().getResourceAsStream(ShippedCode.resourceName(c.getName())));
    }

    @Test
    void aBodyWhoseClassesMatchRuns() throws Exception {
        WorkerTaskResult r = run(CodeRef.newBuilder().setApiVersion(ShippedCode.API_VERSION)
                .addClasses(fingerprint(Six.class.getName(), sha(Six.class))).build());
        assertEquals(TaskStatus.SUCCEEDED, r.getStatus(), r.getError().getMessage());
        assertEquals(42, CODEC.decode(r.getValue(), getClass().getClassLoader()));
    }

    @Test
    void aDifferentBuildIsRefusedNamingTheClassAndBothFingerprints() throws Exception {
        ByteString theirs = ByteString.copyFrom(new byte[32]);
        WorkerTaskResult r = run(CodeRef.newBuilder().setApiVersion(ShippedCode.API_VERSION)
                .addClasses(fingerprint(Six.class.getName(), theirs)).build());
        assertEquals(TaskStatus.FAILED, r.getStatus());
        String m = r.getError().getMessage();
        assertTrue(m.contains("different build of class " + Six.class.getName()) && m.contains(ShippedCode.hex(theirs))
                && m.contains(ShippedCode.hex(sha(Six.class))), m);
    }

    @Test
    void aClientOfANewerApiIsToldBothVersions() {
        WorkerTaskResult r = run(CodeRef.newBuilder().setApiVersion(ShippedCode.API_VERSION + 98).build());
        assertEquals(TaskStatus.FAILED, r.getStatus());
        String m = r.getError().getMessage();
        assertTrue(m.contains("API version " + (ShippedCode.API_VERSION + 98))
                && m.contains("up to version " + ShippedCode.API_VERSION), m);
    }

    @Test
    void aFunctionThatCannotBeDecodedIsTriedOncePerDefinition() {
        CodeRef missing = CodeRef.newBuilder().setApiVersion(ShippedCode.API_VERSION)
                .addClasses(fingerprint("com.example.Gone", ByteString.copyFrom(new byte[32]))).build();
        ByteString body = ShippedCode.wrap(missing, CODEC.encode(new Six()));
        ByteString digest = io.cohort.common.Digests.sha256(body);
        runner.define(FunctionDef.newBuilder().setDigest(digest).setBody(body).build());
        for (int i = 0; i < 3; i++) {
            WorkerTaskResult r = runner.run(TaskAssign.newBuilder().setTaskKey(i)
                    .setSpec(TaskSpec.newBuilder().setFunctionDigest(digest)).build(), "w-1");
            assertEquals(TaskStatus.FAILED, r.getStatus());
            String m = r.getError().getMessage();
            assertTrue(m.contains("class com.example.Gone not found on worker w-1") && m.contains("--classpath"), m);
        }
        assertEquals(1, runner.cachedFunctions(), "the failure is remembered with its definition");
    }
}
