package io.cohort.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.common.Codec;
import io.cohort.common.TaskBody;
import io.cohort.common.TaskErrors;
import io.cohort.proto.v1.ElementError;
import io.cohort.proto.v1.OutputLine;
import io.cohort.proto.v1.ProcessOutput;
import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.TaskSpec;
import io.cohort.proto.v1.TaskStatus;
import io.cohort.proto.v1.WorkerProcessOutput;
import io.cohort.proto.v1.WorkerTaskResult;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * What a worker sends about one task stays within the stream's message limit, whatever the
 * task throws or prints: an oversized message would end the stream and lose every other task
 * on the worker (the end-to-end case is WorkerFailureTest's 40 MB exception message).
 */
class MessageLimitsTest {
    private static final Codec CODEC = Codec.standard();
    private final TaskRunner runner = new TaskRunner(CODEC, MessageLimitsTest.class.getClassLoader());

    private static TaskAssign chunk(TaskBody body, int elements) {
        Object[] inputs = new Object[elements];
        for (int i = 0; i < elements; i++) {
            inputs[i] = i;
        }
        TaskSpec spec = TaskSpec.newBuilder().setBody(CODEC.encode(body)).setArgument(CODEC.encode(inputs))
                .setChunk(true).build();
        return TaskAssign.newBuilder().setTaskKey(1).setAttempt(1).setName("chunk").setSpec(spec).build();
    }

    /** Throws with a message of 30,000 chars: each element's error is about 64 KB with its serialized form. */
    private static Object fail(Object x) {
        throw new IllegalStateException("z".repeat(30_000) + x);
    }

    @Test
    void aChunkWhoseElementErrorsAreTooLargeTogetherSendsThemWithoutSerializedFormsAndFrames() {
        WorkerTaskResult r = runner.run(chunk(MessageLimitsTest::fail, 1_500), "w-1");
        assertEquals(TaskStatus.SUCCEEDED, r.getStatus());
        assertTrue(r.getSerializedSize() <= TaskRunner.MAX_RESULT_BYTES, "fits: " + r.getSerializedSize());
        assertEquals(1_500, r.getElementErrorsCount());
        ElementError last = r.getElementErrors(1_499);
        assertEquals(1_499, last.getIndex());
        assertEquals("java.lang.IllegalStateException", last.getError().getClassName());
        assertEquals("z".repeat(30_000) + 1_499, last.getError().getMessage());
        assertTrue(last.getError().getSerialized().isEmpty());
        assertEquals(0, last.getError().getFramesCount());
    }

    @Test
    void aChunkTooLargeEvenSoFailsAloneSayingWhy() {
        WorkerTaskResult r = runner.run(chunk(MessageLimitsTest::fail, 3_000), "w-1");
        assertEquals(TaskStatus.FAILED, r.getStatus());
        assertTrue(r.getSerializedSize() < 10_000, "a short failure: " + r.getSerializedSize());
        assertTrue(r.getError().getMessage().contains("'chunk' (1/1) on worker w-1"), r.getError().getMessage());
        assertTrue(r.getError().getMessage().contains("3000 failed elements"), r.getError().getMessage());
        assertTrue(r.getError().getMessage().contains("over the limit of " + TaskRunner.MAX_RESULT_BYTES),
                r.getError().getMessage());
    }

    @Test
    void aSmallResultIsSentAsItIs() {
        WorkerTaskResult r = runner.run(chunk(MessageLimitsTest::fail, 3), "w-1");
        assertEquals(3, r.getElementErrorsCount());
        assertFalse(r.getElementErrors(0).getError().getSerialized().isEmpty(), "the exception itself travels");
        assertSame(r, TaskRunner.bounded(r, "t", "w-1"));
    }

    @Test
    void processOutputOverTheLimitIsReplacedByALineSayingSo() {
        ProcessOutput.Builder lines = ProcessOutput.newBuilder().setPid(7);
        String line = "o".repeat(1 << 20);
        for (int i = 0; i < 70; i++) {
            lines.addLines(OutputLine.newBuilder().setText(line));
        }
        WorkerProcessOutput big = WorkerProcessOutput.newBuilder().setTaskKey(3).setAttempt(1).setOutput(lines).build();
        WorkerProcessOutput fit = (WorkerProcessOutput) OutboundLimit.fit(big);
        assertEquals(3, fit.getTaskKey());
        assertEquals(7, fit.getOutput().getPid());
        assertEquals(1, fit.getOutput().getLinesCount());
        assertTrue(fit.getOutput().getLines(0).getText().startsWith("[70 lines of output ("),
                fit.getOutput().getLines(0).getText());
        WorkerProcessOutput small = WorkerProcessOutput.newBuilder().setTaskKey(3).build();
        assertSame(small, OutboundLimit.fit(small));
    }

    @Test
    void aResultOverTheLimitIsReplacedByAFailureOfItsTaskAlone() {
        WorkerTaskResult big = WorkerTaskResult.newBuilder().setTaskKey(4).setAttempt(2).setStatus(TaskStatus.SUCCEEDED)
                .setValue(com.google.protobuf.ByteString.copyFrom(new byte[TaskRunner.MAX_RESULT_BYTES + 1])).build();
        WorkerTaskResult fit = (WorkerTaskResult) OutboundLimit.fit(big);
        assertEquals(4, fit.getTaskKey());
        assertEquals(2, fit.getAttempt());
        assertEquals(TaskStatus.FAILED, fit.getStatus());
        assertTrue(fit.getError().getMessage().startsWith("the result of task 4/2 on worker  is "),
                fit.getError().getMessage());
    }

    @Test
    void processOutputLinesAreCutAtTheLimit() throws IOException {
        String huge = "h".repeat(OutputLines.MAX_LINE_CHARS + 10);
        byte[] text = ("first\r\n" + huge + "\nlast").getBytes(StandardCharsets.UTF_8);
        try (OutputLines lines = new OutputLines(new ByteArrayInputStream(text))) {
            assertEquals("first", lines.next());
            String cut = lines.next();
            assertEquals("h".repeat(OutputLines.MAX_LINE_CHARS) + "... [line cut: " + huge.length() + " chars in all]",
                    cut);
            assertEquals("last", lines.next());
            assertNull(lines.next());
        }
    }

    @Test
    void anExceptionMessageIsCutToTheLimitWithAMultiByteTail() {
        String message = "é".repeat(TaskErrors.MAX_PART_BYTES);   // 2 bytes each in UTF-8
        var error = TaskErrors.describe(new IllegalArgumentException(message), "w-1", CODEC);
        int bytes = error.getMessage().getBytes(StandardCharsets.UTF_8).length;
        assertTrue(bytes <= TaskErrors.MAX_PART_BYTES, "cut: " + bytes);
        assertTrue(bytes > TaskErrors.MAX_PART_BYTES - 100, "not cut more than needed: " + bytes);
        assertTrue(error.getMessage().endsWith("[truncated: " + message.length() + " chars in all]"));
        assertTrue(error.getSerialized().isEmpty(), "the whole message would be in the serialized form");
        assertTrue(error.getFramesCount() > 0);
    }

    @Test
    void framesBeyondTheLimitAreLeftOutAndCounted() {
        RuntimeException deep = new RuntimeException("deep");
        StackTraceElement[] frames = new StackTraceElement[20_000];
        for (int i = 0; i < frames.length; i++) {
            frames[i] = new StackTraceElement("com.example.Deep", "recurse", "Deep.java", i);
        }
        deep.setStackTrace(frames);
        var error = TaskErrors.describe(deep, "w-1", CODEC);
        assertTrue(error.getFramesCount() > 100 && error.getFramesCount() < 20_000, "kept " + error.getFramesCount());
        var marker = error.getFrames(error.getFramesCount() - 1);
        assertEquals("[" + (20_000 - error.getFramesCount() + 1) + " more frames not sent]", marker.getMethodName());
        int frameBytes = error.getFramesList().stream().mapToInt(f -> f.getSerializedSize() + 3).sum();
        assertTrue(frameBytes <= TaskErrors.MAX_PART_BYTES, "frames take " + frameBytes);
        assertTrue(error.getSerialized().isEmpty(), "20,000 frames serialized are over the limit");
        assertEquals("deep", error.getMessage());
    }
}
