package io.cohort.client;

/** The state of a worker as the coordinator sees it. */
public enum WorkerState {
    /** Connected and accepting tasks. */
    ACTIVE,
    /** Connected, finishing its running tasks, accepting no new ones. */
    DRAINING,
    /** Its session ended or timed out; its running tasks are retried elsewhere. */
    LOST
}
