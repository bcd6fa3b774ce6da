package io.cohort.client;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Counts the finished elements of long work and the rate they finish at: the live
 * {@link Progress} view behind {@code MapResult.progress()} and {@code Futures.progress}.
 *
 * <p>Completing threads call {@link #record}; it takes this object's lock for a few field
 * updates and never calls out while holding it. The rate comes from completions counted in
 * half-second buckets over the last five seconds, so reading it costs the same however much
 * work there is. Time comes from the clock given (nanoseconds), so tests drive it by hand.
 * Thread-safe.
 */
final class ProgressTracker implements Progress {
    /** Told of changes, outside the lock; {@link #ended} once. */
    interface Listener {
        Listener NONE = new Listener() {
            @Override
            public void changed() {
            }

            @Override
            public void ended() {
            }
        };

        void changed();

        void ended();

        /** Tells {@code a}, then {@code b}. */
        static Listener both(Listener a, Listener b) {
            return new Listener() {
                @Override
                public void changed() {
                    a.changed();
                    b.changed();
                }

                @Override
                public void ended() {
                    a.ended();
                    b.ended();
                }
            };
        }
    }

    private static final int BUCKETS = 10;
    private static final long BUCKET_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    private static final long MIN_SPAN_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final LongSupplier clock;
    private final long startNanos;
    private final Listener listener;
    private final CountDownLatch endLatch = new CountDownLatch(1);
    /** Run before each read: counts what cannot report itself (plain futures). */
    private volatile Runnable refresh = () -> { };
    // guarded by this
    private long done;
    private long failed;
    private long total;              // -1: unknown
    private long endNanos;           // when it ended; valid once ended
    private boolean ended;
    private final long[] bucketEpochs = new long[BUCKETS];
    private final long[] bucketCounts = new long[BUCKETS];

    /** Work of {@code total} elements (-1: not known yet) starting now. */
    ProgressTracker(LongSupplier clock, long total, Listener listener) {
        this.clock = clock;
        this.startNanos = clock.getAsLong();
        this.total = total;
        this.listener = listener;
        java.util.Arrays.fill(bucketEpochs, -1);
    }

    /** {@code finished} more elements are done, {@code failedAmong} of them failed; ignored once ended. */
    void record(long finished, long failedAmong) {
        publish(add(finished, failedAmong));
    }

    /**
     * Counts like {@link #record} without telling the listener; returns what to pass to
     * {@link #publish} (after releasing any lock of the caller's).
     */
    boolean add(long finished, long failedAmong) {
        synchronized (this) {
            if (ended || finished <= 0) {
                return false;
            }
            long now = clock.getAsLong();
            done += finished;
            failed += failedAmong;
            long epoch = epoch(now);
            int slot = (int) (epoch % BUCKETS);
            if (bucketEpochs[slot] != epoch) {
                bucketEpochs[slot] = epoch;
                bucketCounts[slot] = 0;
            }
            bucketCounts[slot] += finished;
            return reachedTotal(now);
        }
    }

    /** Tells the listener of a change counted by {@link #add}, or of the end if it came with it (which shows the change). */
    void publish(boolean nowEnded) {
        if (nowEnded) {
            endedNow();
        } else {
            listener.changed();
        }
    }

    /** The total is known now (inputs ran out); ignored once ended. */
    void total(long known) {
        boolean nowEnded;
        synchronized (this) {
            if (ended) {
                return;
            }
            total = known;
            nowEnded = reachedTotal(clock.getAsLong());
        }
        publish(nowEnded);
    }

    /** Stops here (the work was closed): later records are ignored. Idempotent. */
    void end() {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            endNanos = clock.getAsLong();
        }
        endedNow();
    }

    /** True once every element is done, or the work was closed. */
    synchronized boolean ended() {
        return ended;
    }

    /** Waits up to {@code nanos} for the end; true if it has come. */
    boolean awaitEnd(long nanos) throws InterruptedException {
        return endLatch.await(nanos, TimeUnit.NANOSECONDS);
    }

    private boolean reachedTotal(long now) {   // holds the lock
        if (total >= 0 && done >= total) {
            ended = true;
            endNanos = now;
            return true;
        }
        return false;
    }

    private void endedNow() {
        endLatch.countDown();
        listener.ended();
    }

    private long epoch(long now) {
        return Math.max(0, now - startNanos) / BUCKET_NANOS;
    }

    /** Runs {@code poll} (which may {@link #record}) before every read of the values. */
    void refreshWith(Runnable poll) {
        this.refresh = poll;
    }

    /** The values as they are now, frozen. */
    Snapshot snapshot() {
        refresh.run();
        synchronized (this) {
            return snapshotNow();
        }
    }

    private Snapshot snapshotNow() {   // holds the lock
        long now = ended ? endNanos : clock.getAsLong();
        double rate = rate(now);
        Optional<Duration> eta = Optional.empty();
        if (total >= 0 && done >= total) {
            eta = Optional.of(Duration.ZERO);
        } else if (total >= 0 && rate > 0) {
            eta = Optional.of(Duration.ofNanos((long) Math.min(Long.MAX_VALUE, (total - done) / rate * 1e9)));
        }
        return new Snapshot(done, failed, total < 0 ? OptionalLong.empty() : OptionalLong.of(total), rate, eta,
                Duration.ofNanos(Math.max(0, now - startNanos)));
    }

    /** Completions per second in the buckets of the last five seconds, over the time they span. */
    private double rate(long now) {   // holds the lock
        long epoch = epoch(now);
        long oldest = Math.max(0, epoch - BUCKETS + 1);
        long count = 0;
        for (int i = 0; i < BUCKETS; i++) {
            if (bucketEpochs[i] >= oldest && bucketEpochs[i] <= epoch) {
                count += bucketCounts[i];
            }
        }
        // from the start of the oldest bucket (the work's start, early on) to now, as tqdm counts
        long span = Math.max(MIN_SPAN_NANOS, now - (startNanos + oldest * BUCKET_NANOS));
        return count * 1e9 / span;
    }

    @Override
    public long done() {
        return snapshot().done();
    }

    @Override
    public long failed() {
        return snapshot().failed();
    }

    @Override
    public OptionalLong total() {
        return snapshot().total();
    }

    @Override
    public double ratePerSecond() {
        return snapshot().ratePerSecond();
    }

    @Override
    public Optional<Duration> eta() {
        return snapshot().eta();
    }

    @Override
    public Duration elapsed() {
        return snapshot().elapsed();
    }

    @Override
    public String toString() {
        return snapshot().toString();
    }

    /** One moment's values. */
    record Snapshot(long done, long failed, OptionalLong total, double ratePerSecond, Optional<Duration> eta,
                    Duration elapsed) implements Progress {
        @Override
        public String toString() {
            return ProgressBar.describe(this);
        }
    }
}
