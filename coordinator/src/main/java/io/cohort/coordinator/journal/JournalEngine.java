package io.cohort.coordinator.journal;

import io.cohort.coordinator.JournalMode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A journal implementation, found with {@link java.util.ServiceLoader} (a
 * {@code META-INF/services/io.cohort.coordinator.journal.JournalEngine} entry) by
 * {@link Journal#open}.
 */
public interface JournalEngine {
    /** Opens (or creates) a journal in {@code dir}; {@code mode} is never OFF. */
    Journal open(Path dir, JournalMode mode) throws IOException;
}
