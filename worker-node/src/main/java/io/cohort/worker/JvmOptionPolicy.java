package io.cohort.worker;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which JVM options a process task ({@code ProcessSpec.jvm_options}) may give the child JVM
 * it runs in. They come from clients and reach a {@code java} command line, where some do
 * more than tune the JVM ({@code -XX:OnOutOfMemoryError=CMD} runs a shell command,
 * {@code -Xlog:...:file=F} writes files, {@code -javaagent} and {@code @argfiles} load what
 * they name), so only options matching {@link #DEFAULTS} or an operator's pattern pass.
 * Immutable and thread-safe.
 */
final class JvmOptionPolicy {
    /** Memory, stack, GC choice and sizing, assertions, preview features and most system properties. */
    static final List<String> DEFAULTS = List.of(
            "-X(mx|ms|ss|mn)\\d+[kKmMgGtT]?",
            "-XX:\\+Use(Serial|Parallel|G1|Z|Shenandoah)GC",
            "-XX:[+-](UseCompressedOops|TieredCompilation|AlwaysPreTouch|UseStringDeduplication|UseNUMA"
                    + "|ExitOnOutOfMemoryError)",
            "-XX:(Max|Initial|Min)RAMPercentage=\\d+(\\.\\d+)?",
            "-XX:(MaxMetaspaceSize|MaxDirectMemorySize|ReservedCodeCacheSize|NewSize|MaxNewSize)=\\d+[kKmMgG]?",
            "-XX:(ActiveProcessorCount|ParallelGCThreads|ConcGCThreads|CICompilerCount|TieredStopAtLevel"
                    + "|NewRatio|MaxGCPauseMillis)=\\d+",
            // Not the JDK's own properties (java.*, jdk.*, sun.*), which can load agents, class loaders and security settings.
            "-D(?!(java|javax|jdk|sun|com\\.sun)\\.)[\\w.-]+(=.*)?",
            "-(ea|da|esa|dsa|enableassertions|disableassertions|enablesystemassertions|disablesystemassertions)"
                    + "(:[\\w.$]*(\\.\\.\\.)?)?",
            "--enable-preview",
            "--add-(opens|exports)=[\\w.]+/[\\w.]+=[\\w.,-]+");

    private final List<Pattern> allowed;
    private final List<String> extra;

    private JvmOptionPolicy(List<Pattern> allowed, List<String> extra) {
        this.allowed = allowed;
        this.extra = extra;
    }

    /** The defaults plus {@code extra} patterns (Java regexes, each matched against a whole option). */
    static JvmOptionPolicy of(List<String> extra) {
        List<Pattern> all = new ArrayList<>();
        for (String p : DEFAULTS) {
            all.add(Pattern.compile(p, Pattern.DOTALL));
        }
        for (String p : extra) {
            try {
                all.add(Pattern.compile(p, Pattern.DOTALL));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("allowed JVM option pattern '" + p + "' is not a regular expression: "
                        + e.getDescription());
            }
        }
        return new JvmOptionPolicy(List.copyOf(all), List.copyOf(extra));
    }

    /** The operator's patterns beyond the defaults. */
    List<String> extra() {
        return extra;
    }

    /** Why the options cannot be used, naming the first that is not allowed; empty when all are. */
    Optional<String> refusal(List<String> options, String workerId) {
        for (String o : options) {
            if (allowed.stream().noneMatch(p -> p.matcher(o).matches())) {
                return Optional.of("the JVM option '" + o + "' is not allowed for process JVMs on worker " + workerId
                        + ": allowed are heap, stack and GC sizing (-Xmx, -Xms, -Xss, -XX:+UseSerialGC, ...),"
                        + " assertions, --enable-preview, --add-opens/--add-exports and -D properties outside"
                        + " java.*, jdk.* and sun.*; the worker's operator may allow more with --allow-jvm-option REGEX");
            }
        }
        return Optional.empty();
    }
}
