package io.cohort.bench.jmh;

import io.cohort.client.RemoteFunction;
import io.cohort.common.Codec;
import io.cohort.bench.codec.ForyCodec;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** Encode then decode of the values BENCH.md names, on JdkCodec (the default) and ForyCodec. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class CodecJmh {
    @Param({"jdk", "fory"})
    public String codec;

    @Param({"lambda_and_long", "long", "bytes_1mib", "exception_30_frames", "chunk_10k_longs", "chunk_10k_long_array",
            "chunk_10k_mixed"})
    public String value;

    private Codec c;
    private Object v;
    private ClassLoader loader;

    @Setup
    public void setup() {
        c = codecNamed(codec);
        v = valueNamed(value);
        loader = getClass().getClassLoader();
    }

    @Benchmark
    public Object roundTrip() {
        return c.decode(c.encode(v), loader);
    }

    public static Codec codecNamed(String name) {
        return switch (name) {
            case "jdk" -> Codec.standard();
            case "fory" -> ForyCodec.standard();
            default -> throw new IllegalArgumentException("no codec " + name);
        };
    }

    public static Object valueNamed(String name) {
        return switch (name) {
            case "lambda_and_long" -> {
                RemoteFunction<Long, Long> inc = x -> x + 1;   // what W1 sends per task
                yield new Object[] {inc, 41L};
            }
            case "long" -> 41L;
            case "bytes_1mib" -> {
                byte[] b = new byte[1 << 20];
                new Random(42).nextBytes(b);
                yield b;
            }
            case "exception_30_frames" -> {
                RuntimeException e = new RuntimeException("boom");
                StackTraceElement[] frames = new StackTraceElement[30];
                for (int i = 0; i < frames.length; i++) {
                    frames[i] = new StackTraceElement("com.example.app.Service" + i, "handle", "Service" + i + ".java", 10 + i);
                }
                e.setStackTrace(frames);
                yield e;
            }
            // a map chunk as W2 sends it: packed by JdkCodec (PlainArrays)
            case "chunk_10k_longs" -> longs(new Object[10_000]);
            // the same numbers in another array class, which JdkCodec leaves to the object stream
            case "chunk_10k_long_array" -> longs(new Long[10_000]);
            case "chunk_10k_mixed" -> {
                Object[] chunk = new Object[10_000];
                for (int i = 0; i < chunk.length; i++) {
                    chunk[i] = i % 3 == 0 ? null : i % 3 == 1 ? "item-" + i : (Object) (long) i;
                }
                yield chunk;
            }
            default -> throw new IllegalArgumentException("no value " + name);
        };
    }

    private static Object[] longs(Object[] chunk) {
        for (int i = 0; i < chunk.length; i++) {
            chunk[i] = (long) i;
        }
        return chunk;
    }
}
