package io.cohort.cli;

import java.util.Locale;
import picocli.CommandLine;

/** Parses a byte count: "1048576", "512k", "256m", "2g" (powers of 1024), not negative. */
public final class ByteSizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String s = value.strip().toLowerCase(Locale.ROOT);
        if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);   // "256mb" as well as "256m"
        }
        int shift = s.endsWith("k") ? 10 : s.endsWith("m") ? 20 : s.endsWith("g") ? 30 : s.endsWith("t") ? 40 : 0;
        String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
        try {
            long n = Long.parseLong(digits.strip());
            if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a byte count from 0 to 2^63-1");
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a byte count (examples: 1048576, 512k, 256m, 2g)");
        }
    }
}
