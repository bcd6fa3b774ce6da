package io.cohort.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/** Log records as one line each, text or JSON, with the ids their messages name. */
class LineFormatterTest {
    private static LogRecord record(Level level, String message, Object... parameters) {
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName("io.cohort.coordinator.core.Scheduler");
        r.setInstant(Instant.parse("2026-12-08T01:02:03.456Z"));
        r.setParameters(parameters);
        return r;
    }

    @Test
    void textIsOneLineWithTimeLevelComponentAndIds() {
        LogRecord r = record(Level.WARNING, "worker {0} lost: {1}", "w-b", "its connection broke");
        r.setThrown(new IllegalStateException("first\nsecond"));
        String line = new LineFormatter(LineFormatter.Format.TEXT).format(r);
        assertEquals(1, line.lines().count(), line);
        assertTrue(line.startsWith("2026-12-08T01:02:03.456Z WARN  Scheduler [worker=w-b] worker w-b lost: its connection"
                + " broke | java.lang.IllegalStateException: first | second | at "), line);
    }

    @Test
    void jsonCarriesTheIdsAsFieldsAndNamesNoIdFromProse() throws Exception {
        LineFormatter json = new LineFormatter(LineFormatter.Format.JSON);
        JsonNode n = new ObjectMapper().readTree(json.format(record(Level.FINE,
                "ignored {0} for task key {1} from session {2} on worker {3}", "a result", 42L, "s-7", "w-1")));
        assertEquals("2026-12-08T01:02:03.456Z", n.get("time").asText());
        assertEquals("DEBUG", n.get("level").asText());
        assertEquals("Scheduler", n.get("component").asText());
        assertEquals("42", n.get("task").asText());
        assertEquals("s-7", n.get("session").asText());
        assertEquals("w-1", n.get("worker").asText());
        JsonNode plain = new ObjectMapper().readTree(json.format(record(Level.SEVERE, "no worker token: the worker runs code")));
        assertFalse(plain.has("worker"), plain.toString());
        assertEquals("ERROR", plain.get("level").asText());
    }
}
