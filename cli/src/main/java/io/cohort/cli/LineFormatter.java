package io.cohort.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One line per log record, as text or as a JSON object: the time (UTC, ISO 8601), the level
 * (ERROR, WARN, INFO, DEBUG, TRACE), the component (the logger's class), the worker, session
 * and task the message names, and the message; a thrown exception's stack on the same line
 * (text) or in {@code error} (JSON). The ids are the parameters that Cohort's log calls place
 * after those words ("worker {0} drained", "session {0} ...", "task key {2} ..."), so nothing
 * is guessed from prose.
 */
public final class LineFormatter extends Formatter {
    /** The output of {@code --log-format}. */
    public enum Format { TEXT, JSON }

    private static final Map<String, Pattern> IDS = Map.of(
            "worker", Pattern.compile("\\bworker \\{(\\d+)}"),
            "session", Pattern.compile("\\bsession \\{(\\d+)}"),
            "task", Pattern.compile("\\btask (?:key )?\\{(\\d+)}"));
    private static final String[] ID_ORDER = {"worker", "session", "task"};
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Format format;

    public LineFormatter(Format format) {
        this.format = format;
    }

    @Override
    public String format(LogRecord record) {
        String message = formatMessage(record);
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("time", DateTimeFormatter.ISO_INSTANT.format(record.getInstant()));
        fields.put("level", level(record.getLevel()));
        fields.put("component", component(record.getLoggerName()));
        Object[] parameters = record.getParameters();
        String template = record.getMessage();
        for (String kind : ID_ORDER) {
            Matcher m = template == null || parameters == null ? null : IDS.get(kind).matcher(template);
            if (m != null && m.find()) {
                int index = Integer.parseInt(m.group(1));
                if (index < parameters.length) {
                    fields.put(kind, String.valueOf(parameters[index]));
                }
            }
        }
        fields.put("message", message);
        if (record.getThrown() != null) {
            StringWriter stack = new StringWriter();
            record.getThrown().printStackTrace(new PrintWriter(stack));
            fields.put("error", stack.toString().stripTrailing());
        }
        return format == Format.JSON ? json(fields) : text(fields);
    }

    private static String json(Map<String, String> fields) {
        try {
            return JSON.writeValueAsString(fields) + System.lineSeparator();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a log line as JSON", e);
        }
    }

    /** "TIME LEVEL COMPONENT [worker=w-1] message | stack": line breaks inside become " | ". */
    private static String text(Map<String, String> fields) {
        StringBuilder ids = new StringBuilder();
        for (String kind : ID_ORDER) {
            if (fields.containsKey(kind)) {
                ids.append(ids.length() == 0 ? "[" : " ").append(kind).append('=').append(fields.get(kind));
            }
        }
        String line = String.format("%s %-5s %s %s%s%s", fields.get("time"), fields.get("level"), fields.get("component"),
                ids.length() == 0 ? "" : ids.append("] "), fields.get("message"),
                fields.containsKey("error") ? " | " + fields.get("error") : "");
        return line.replaceAll("\\R\\s*", " | ") + System.lineSeparator();
    }

    /** java.util.logging's levels under the names System.Logger gives them. */
    static String level(Level level) {
        int v = level.intValue();
        if (v >= Level.SEVERE.intValue()) {
            return "ERROR";
        }
        if (v >= Level.WARNING.intValue()) {
            return "WARN";
        }
        if (v >= Level.INFO.intValue()) {
            return "INFO";
        }
        return v >= Level.FINE.intValue() ? "DEBUG" : "TRACE";
    }

    private static String component(String logger) {
        if (logger == null || logger.isEmpty()) {
            return "-";
        }
        return logger.substring(logger.lastIndexOf('.') + 1);
    }
}
