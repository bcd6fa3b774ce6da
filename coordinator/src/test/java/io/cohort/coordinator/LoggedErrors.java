package io.cohort.coordinator;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** What Cohort logs at SEVERE while it is watched: a fuzz case must make the coordinator log no error. */
final class LoggedErrors extends Handler {
    /** Held, or JUL may forget the logger and the handler with it. */
    private static final Logger COHORT = Logger.getLogger("io.cohort");
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();

    /** Starts watching. */
    static LoggedErrors watch() {
        LoggedErrors errors = new LoggedErrors();
        COHORT.addHandler(errors);
        return errors;
    }

    /** Stops watching. */
    @Override
    public void close() {
        COHORT.removeHandler(this);
    }

    void clear() {
        records.clear();
    }

    /** The messages logged as errors since the last {@link #clear}. */
    List<String> messages() {
        return records.stream().map(LogRecord::getMessage).toList();
    }

    @Override
    public void publish(LogRecord record) {
        if (record.getLevel().intValue() >= Level.SEVERE.intValue()) {
            records.add(record);
        }
    }

    @Override
    public void flush() {}
}
