package io.cohort.cli;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * {@code --log-format text|json} and {@code --log-level}, on the daemons: {@link #install}
 * replaces java.util.logging's two-line output on stderr with one {@link LineFormatter} line
 * per event. A picocli mixin.
 */
public final class LogOptions {
    /** Held so the levels set on them are not lost when the loggers would otherwise be collected. */
    private static final Logger ROOT = Logger.getLogger("");
    private static final Logger COHORT = Logger.getLogger("io.cohort");

    @Option(names = "--log-format", paramLabel = "text|json", converter = FormatConverter.class,
            description = "Log lines as text or as JSON objects, one per event, on stderr (default: text).")
    LineFormatter.Format format = LineFormatter.Format.TEXT;

    @Option(names = "--log-level", paramLabel = "LEVEL", converter = LevelConverter.class,
            description = "Least level logged: error, warn, info, debug or trace (default: info; debug and trace"
                    + " apply to Cohort's own logs, libraries stay at info).")
    Level level = Level.INFO;

    /** Routes every log record through one handler on stderr in this format and level. */
    void install() {
        for (Handler h : ROOT.getHandlers()) {
            ROOT.removeHandler(h);
        }
        ConsoleHandler handler = new ConsoleHandler();   // stderr, flushed after each record
        handler.setFormatter(new LineFormatter(format));
        handler.setLevel(Level.ALL);
        try {
            handler.setEncoding(StandardCharsets.UTF_8.name());
        } catch (java.io.UnsupportedEncodingException impossible) {
            throw new IllegalStateException(impossible);
        }
        ROOT.addHandler(handler);
        // Libraries' debug output (gRPC, Netty) would drown Cohort's: they stay at info or above.
        ROOT.setLevel(level.intValue() < Level.INFO.intValue() ? Level.INFO : level);
        COHORT.setLevel(level);
    }

    static final class FormatConverter implements CommandLine.ITypeConverter<LineFormatter.Format> {
        @Override
        public LineFormatter.Format convert(String value) {
            try {
                return LineFormatter.Format.valueOf(value.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not text or json");
            }
        }
    }

    static final class LevelConverter implements CommandLine.ITypeConverter<Level> {
        @Override
        public Level convert(String value) {
            return switch (value.strip().toLowerCase(Locale.ROOT)) {
                case "error" -> Level.SEVERE;
                case "warn", "warning" -> Level.WARNING;
                case "info" -> Level.INFO;
                case "debug" -> Level.FINE;
                case "trace" -> Level.FINER;
                default -> throw new CommandLine.TypeConversionException(
                        "'" + value + "' is not error, warn, info, debug or trace");
            };
        }
    }
}
