package io.cohort.client;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * How far long work has come, like Dask's {@code progress()}: what a {@code map} or a
 * collection of futures has finished, how fast, and when it should end.
 *
 * <p>{@link MapResult#progress()} and {@link Futures#progress} return a live view: each call
 * reads the counters as they are now (cheaply: they are bumped as work completes, nothing is
 * scanned). {@code MapOptions.onProgress} callbacks receive a snapshot that does not change.
 * Thread-safe.
 */
public interface Progress {
    /** Elements (or futures) finished, successfully or not. */
    long done();

    /** Of those, the ones that failed (a cancelled future counts as failed). */
    long failed();

    /** How many there are in all: known for collections, empty for endless inputs until they end. */
    OptionalLong total();

    /** Elements finished per second over the last few (about 5) seconds. */
    double ratePerSecond();

    /** Time left at the current rate; empty while the total or the rate is unknown, zero when all are done. */
    Optional<Duration> eta();

    /** Time since the work started; it stops when the work ends. */
    Duration elapsed();
}
