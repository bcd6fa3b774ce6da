package io.cohort.client;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Python's {@code multiprocessing.Process} on a Cohort cluster: its target runs in a new JVM
 * of its own on a worker host chosen like a task's ({@link ProcessOptions}); it holds no slot
 * of that worker. Its standard output and error are printed on this JVM's
 * {@code System.out} and {@code System.err}, each line prefixed with {@code [name] }.
 *
 * <p>Exit codes follow Python: 0 when the target returned; 1 when it threw (its stack trace
 * goes to stderr first); {@code n} when it called {@code System.exit(n)}; {@code -N} when it
 * ended by signal {@code N}: {@link #kill()} gives -9, {@link #terminate()} -15. A process
 * never runs twice: if its worker host is lost, the session ends, or its JVM cannot start,
 * it is over at once with exit code -9 (as if killed: its JVM is gone or never ran), and
 * {@link #failure()} says why (a {@link WorkerLostException} for a lost host).
 *
 * <p>Thread-safe.
 */
public interface CohortProcess {
    /** Starts it; once. @throws IllegalStateException when already started */
    CohortProcess start();

    /** Waits until it has ended. @throws IllegalStateException when not started */
    void join() throws InterruptedException;

    /** Waits at most {@code timeout}; true if it has ended. @throws IllegalStateException when not started */
    boolean join(Duration timeout) throws InterruptedException;

    /** Started and not yet ended. */
    boolean isAlive();

    /** Empty while it runs (or before start); then its exit code, see the class notes. */
    OptionalInt exitCode();

    /**
     * Interrupts the target; if it still runs after a grace period (about 2 s), SIGTERMs its
     * JVM. The exit code is -15 either way. Does nothing once it has ended.
     * @throws IllegalStateException when not started
     */
    void terminate();

    /** SIGKILLs its JVM at once: exit code -9. Does nothing once it has ended. @throws IllegalStateException when not started */
    void kill();

    /**
     * The pid of its JVM on its worker host. Waits until the worker has reported it (at most
     * 60 s, the time a JVM may take to start on a loaded host); -1 when the process ended
     * without one (it never started).
     * @throws IllegalStateException when not started, or the pid is not known within 60 s
     */
    long pid();

    /** The id of the worker hosting it; empty until it has started there. */
    String workerId();

    String name();

    /** Why it ended without an exit code of its own (see the class notes); empty otherwise. */
    Optional<Throwable> failure();
}
