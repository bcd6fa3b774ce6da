package io.cohort.cli;

import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine;

/** Parses "30s", "500ms", "2m", "1h", a bare number of seconds, or ISO-8601 ("PT30S"). */
public final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        String s = value.strip().toLowerCase(Locale.ROOT);
        try {
            Duration d;
            if (s.startsWith("pt") || s.startsWith("p")) {
                d = Duration.parse(value.strip().toUpperCase(Locale.ROOT));
            } else if (s.endsWith("ms")) {
                d = Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2).strip()));
            } else if (s.endsWith("s")) {
                d = Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1).strip()));
            } else if (s.endsWith("m")) {
                d = Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1).strip()));
            } else if (s.endsWith("h")) {
                d = Duration.ofHours(Long.parseLong(s.substring(0, s.length() - 1).strip()));
            } else {
                d = Duration.ofSeconds(Long.parseLong(s));
            }
            if (d.isNegative()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is negative");
            }
            return d;
        } catch (NumberFormatException | java.time.format.DateTimeParseException e) {
            throw new CommandLine.TypeConversionException(
                    "'" + value + "' is not a duration (examples: 30s, 500ms, 2m, PT30S)");
        }
    }
}
