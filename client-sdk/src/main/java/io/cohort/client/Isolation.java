package io.cohort.client;

/** Where a pool's tasks run on a worker host. */
public enum Isolation {
    /** In the worker daemon's own JVM, one thread per slot: the fastest, and the default. */
    THREADS,
    /**
     * In child JVMs that the worker daemon starts and supervises: a task that halts or exhausts
     * its JVM takes down only that child, which is replaced.
     */
    PROCESS
}
