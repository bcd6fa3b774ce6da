package io.cohort.coordinator;

/** When the coordinator's journal reaches the disk ({@code --journal}). */
public enum JournalMode {
    /** No journal: a restarted coordinator starts empty, and clients send their tasks again. */
    OFF,
    /**
     * Each batch of records is written as one group at once, which survives the coordinator
     * being killed, and synced to disk within a second, which bounds what a power cut loses.
     */
    BATCH,
    /** Each batch is synced to disk before the coordinator acts on it or answers anyone. */
    ALWAYS
}
