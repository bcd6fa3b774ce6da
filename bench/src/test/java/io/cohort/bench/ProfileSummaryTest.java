package io.cohort.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cohort.bench.ProfileSummary.Kind;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProfileSummaryTest {
    /** Shaped like async-profiler's output on this JDK (17, G1), frames shortened. */
    private static final List<String> COLLAPSED = List.of(
            "java/lang/Thread.run;io/cohort/worker/Runner.run;io/cohort/common/Codec.decode;java/io/ObjectInputStream.readObject 40",
            "java/lang/Thread.run;io/cohort/worker/Runner.run;io/cohort/worker/Runner.run;io/grpc/Stream.send 20",
            "java/lang/Thread.run;io/grpc/Stream.send 5",
            "io/cohort/worker/WorkerMain.main;java/lang/Object.wait 4",
            "[unknown];java/lang/Object.wait 1",
            "[unknown];/usr/lib/jvm/java-17-openjdk-amd64/bin/java;__libc_start_main_alias_2;JLI_Launch 1",
            "clone3;start_thread;thread_native_entry;Thread::call_run;JavaThread::thread_main_inner;"
                    + "CompileBroker::compiler_thread_loop;CompileBroker::invoke_compiler_on_method;"
                    + "C2Compiler::compile_method;Compile::Compile;Compile::Code_Gen 12",
            "clone3;start_thread;thread_native_entry;Thread::call_run;JavaThread::thread_main_inner;"
                    + "CompileBroker::compiler_thread_loop;CompileBroker::invoke_compiler_on_method;"
                    + "Compiler::compile_method;Compilation::Compilation;Compilation::compile_method 3",
            "clone3;start_thread;thread_native_entry;Thread::call_run;GangWorker::run;GangWorker::loop;"
                    + "G1EvacuateRegionsBaseTask::work;SpinPause 6",
            "clone3;start_thread;thread_native_entry;Thread::call_run;VMThread::run;VMThread::inner_execute;"
                    + "VM_Operation::evaluate;VM_G1CollectForAllocation::doit 2",
            "clone3;start_thread;thread_native_entry;Thread::call_run;WatcherThread::run;PeriodicTask::real_time_tick 6",
            "");

    @Test
    void splitsSamplesByKindOfThread() {
        ProfileSummary s = ProfileSummary.of(COLLAPSED);
        assertEquals(100, s.total());
        assertEquals(70, s.samples(Kind.JAVA));
        assertEquals(12, s.samples(Kind.JIT_C2));
        assertEquals(3, s.samples(Kind.JIT_C1));
        assertEquals(8, s.samples(Kind.GC));
        assertEquals(7, s.samples(Kind.OTHER_VM));
    }

    @Test
    void ranksTheJavaThreadsSelfFramesAndCohortsFramesWithTheirCallees() {
        ProfileSummary s = ProfileSummary.of(COLLAPSED);
        assertEquals(List.of(Map.entry("java/io/ObjectInputStream.readObject", 40L), Map.entry("io/grpc/Stream.send", 25L),
                Map.entry("java/lang/Object.wait", 5L)), s.topSelf(15));
        // the recursive Runner.run counts once per stack
        assertEquals(List.of(Map.entry("io/cohort/worker/Runner.run", 60L), Map.entry("io/cohort/common/Codec.decode", 40L),
                Map.entry("io/cohort/worker/WorkerMain.main", 4L)), s.topCohort(10));
        assertEquals(List.of(Map.entry("java/io/ObjectInputStream.readObject", 40L)), s.topSelf(1));
    }

    @Test
    void theTextShowsTheCpuTimeAndTheSplitInPercentOfTheSamples() {
        String text = ProfileSummary.of(COLLAPSED).text("WorkerMain-1", 400);
        assertTrue(text.startsWith("WorkerMain-1: 400 ms of CPU, 100 samples"), text);
        assertTrue(text.contains("java 70 (70.0%) jit-c2 12 (12.0%) jit-c1 3 (3.0%) gc 8 (8.0%) other-vm 7 (7.0%)"), text);
        assertTrue(text.contains(" 40.0%      40  java/io/ObjectInputStream.readObject"), text);
    }
}
