package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The stderr of the worker writing the AOT cache: the JDK's notices go, a task's output stays. */
class AotNoticesTest {

    @Test
    void dropsTheJdksNoticesAndKeepsEverythingElseInOrder() {
        String in = "task says hi\n"
                + "Temporary AOTConfiguration recorded: /c/k.tmp-1.aot.config\n"
                + "Launching child process /jdk/bin/java to assemble AOT cache /c/k.tmp-1.aot using configuration x\n"
                + "Picked up JAVA_TOOL_OPTIONS: -Djava.class.path=a.jar -XX:AOTMode=create\n"
                + "Picked up JAVA_TOOL_OPTIONS: -Xmx1g\n"
                + "Reading AOTConfiguration /c/k.tmp-1.aot.config and writing AOTCache /c/k.tmp-1.aot\n"
                + "AOTCache creation is complete: /c/k.tmp-1.aot 35606528 bytes\n"
                + "Removed temporary AOT configuration file /c/k.tmp-1.aot.config\n"
                + "Exception in thread \"main\" java.lang.Error: ünïcode\n"
                + "no newline at the end";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AotNotices.copy(new ByteArrayInputStream(in.getBytes(StandardCharsets.UTF_8)), out);
        assertEquals("task says hi\n"
                + "Picked up JAVA_TOOL_OPTIONS: -Xmx1g\n"
                + "Exception in thread \"main\" java.lang.Error: ünïcode\n"
                + "no newline at the end", out.toString(StandardCharsets.UTF_8));
    }
}
