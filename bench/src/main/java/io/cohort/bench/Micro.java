package io.cohort.bench;

import io.cohort.bench.jmh.CodecJmh;
import io.cohort.bench.jmh.SchedulerJmh;
import io.cohort.client.RemoteFunction;
import io.cohort.common.Codec;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * S3 and the codec comparison: the JMH benchmarks of {@code io.cohort.bench.jmh}, run from
 * here. A full run forks one JVM per benchmark (JMH's advice); {@code --quick} runs them in
 * this JVM with short iterations, which is only a smoke test of the numbers.
 */
final class Micro {
    private Micro() {
    }

    /** One JMH benchmark's measured iterations (their scores) and its unit. */
    record Score(double[] iterations, String unit) {
    }

    static Score scheduler(boolean quick) throws RunnerException {
        Collection<RunResult> results = new Runner(options(SchedulerJmh.class.getName() + ".", quick).build()).run();
        return score(results.iterator().next());
    }

    /** Codec name, then value name, to the round trip's score (µs per encode + decode). */
    static Map<String, Map<String, Score>> codecs(boolean quick) throws RunnerException {
        Map<String, Map<String, Score>> out = new LinkedHashMap<>();
        OptionsBuilder o = options(CodecJmh.class.getName() + ".", quick);
        if (quick) {
            o.param("value", "lambda_and_long");   // W1's per-task payload alone
        }
        for (RunResult r : new Runner(o.build()).run()) {
            String codec = r.getParams().getParam("codec");
            String value = r.getParams().getParam("value");
            out.computeIfAbsent(codec, k -> new LinkedHashMap<>()).put(value, score(r));
        }
        return out;
    }

    private static OptionsBuilder options(String include, boolean quick) {
        OptionsBuilder o = new OptionsBuilder();
        o
                .include("^" + include.replace(".", "\\.") + ".*")
                .forks(quick ? 0 : 1)
                .warmupIterations(quick ? 1 : 5)   // big methods take C2 a while on a busy 2-core machine
                .warmupTime(TimeValue.milliseconds(quick ? 200 : 1_000))
                .measurementIterations(quick ? 2 : 3)
                .measurementTime(TimeValue.milliseconds(quick ? 200 : 1_000))
                .threads(1)
                .shouldFailOnError(true)
                .verbosity(VerboseMode.SILENT);
        return o;
    }

    private static Score score(RunResult r) {
        List<Double> xs = new ArrayList<>();
        for (var b : r.getBenchmarkResults()) {
            for (IterationResult i : b.getIterationResults()) {
                xs.add(i.getPrimaryResult().getScore());
            }
        }
        return new Score(xs.stream().mapToDouble(Double::doubleValue).toArray(), r.getPrimaryResult().getScoreUnit());
    }

    /** The encoded size of each benchmark value, in bytes. */
    static long encodedBytes(String codec, String value) {
        return CodecJmh.codecNamed(codec).encode(CodecJmh.valueNamed(value)).size();
    }

    record Sample(int x, String label) implements Serializable {
    }

    /** What a codec round-trips faithfully: lambda, record, exception (with its frames). */
    static Map<String, Boolean> handles(String codecName) {
        Codec c = CodecJmh.codecNamed(codecName);
        ClassLoader loader = Micro.class.getClassLoader();
        Map<String, Boolean> out = new LinkedHashMap<>();
        out.put("lambda", check(() -> {
            RemoteFunction<Long, Long> inc = x -> x + 1;
            @SuppressWarnings("unchecked")
            RemoteFunction<Long, Long> back = (RemoteFunction<Long, Long>) c.decode(c.encode(inc), loader);
            return back.apply(41L) == 42L;
        }));
        out.put("record", check(() -> new Sample(3, "p").equals(c.decode(c.encode(new Sample(3, "p")), loader))));
        out.put("exception", check(() -> {
            RuntimeException e = (RuntimeException) CodecJmh.valueNamed("exception_30_frames");
            Throwable back = (Throwable) c.decode(c.encode(e), loader);
            return back.getClass() == e.getClass() && "boom".equals(back.getMessage())
                    && back.getStackTrace().length == e.getStackTrace().length
                    && back.getStackTrace()[29].equals(e.getStackTrace()[29]);
        }));
        return out;
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private static boolean check(Check c) {
        try {
            return c.ok();
        } catch (Exception e) {
            return false;
        }
    }
}
