package io.cohort.journal.rocksdb;

import io.cohort.coordinator.JournalMode;
import io.cohort.coordinator.journal.Journal;
import io.cohort.coordinator.journal.JournalEngine;
import java.io.IOException;
import java.nio.file.Path;

/** The RocksDB journal, as the coordinator finds it on the class path. */
public final class RocksJournalEngine implements JournalEngine {
    @Override
    public Journal open(Path dir, JournalMode mode) throws IOException {
        return RocksJournal.open(dir, mode);
    }
}
