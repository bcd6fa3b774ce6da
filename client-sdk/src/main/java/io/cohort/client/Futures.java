package io.cohort.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Waiting on many futures, as Python's {@code concurrent.futures.as_completed} and
 * {@code wait}. Works with any {@link CompletableFuture}, {@code TaskFuture} included. All
 * methods are thread-safe.
 *
 * <p>Duplicates in the input count once (Python builds a set); futures are compared with
 * {@code equals}, which for {@code CompletableFuture} is identity. A cancelled future is done.
 *
 * <p>Neither method declares {@link InterruptedException}: when the waiting thread is
 * interrupted, they restore its interrupt flag and throw {@link CohortException} whose cause is
 * the {@code InterruptedException}.
 *
 * <p>Design notes: completions are observed with {@code whenComplete} callbacks that only put
 * the future on a queue or count down a latch (no polling, no user code, no lock held). A
 * {@code CompletableFuture} cannot drop a callback, so one that never completes keeps a small
 * callback object per wait until it does.
 */
public final class Futures {
    private Futures() {}

    /** {@link #asCompleted(Collection, Duration)} with no time limit. */
    public static <F extends CompletableFuture<?>> Iterable<F> asCompleted(Collection<F> futures) {
        return asCompleted(futures, null);
    }

    /**
     * Yields each future once as it completes, like {@code as_completed(fs, timeout)}: first,
     * in input order, those already done when iteration starts, then the others in the order
     * they complete. Duplicates are yielded once.
     *
     * <p>The timeout counts from this call, not from the start of iteration. When it has passed
     * and no completed future is left to yield, {@code hasNext()} and {@code next()} throw
     * {@link CohortTimeoutException} ("2 (of 4) futures unfinished"). A future that completed
     * in time is always yielded, however late the caller asks for it. Null means no limit; zero
     * or negative yields what is done and then throws if anything is left.
     *
     * <p>The iterator blocks in {@code hasNext()}/{@code next()}; it is for one thread. Each
     * {@code iterator()} call starts a new pass over the same futures with the same deadline.
     *
     * @throws NullPointerException if {@code futures} or one of its elements is null
     */
    public static <F extends CompletableFuture<?>> Iterable<F> asCompleted(
            Collection<F> futures, Duration timeout) {
        long start = System.nanoTime();
        List<F> distinct = List.copyOf(distinct(futures));
        long limit = timeout == null ? -1 : Math.max(0, saturatedNanos(timeout));
        return () -> new AsCompletedIterator<>(distinct, start, limit);
    }

    /** {@link #wait(Collection, Duration, ReturnWhen)} with no time limit, until all are done. */
    public static <F extends CompletableFuture<?>> DoneAndNotDone<F> wait(Collection<F> futures) {
        return wait(futures, null, ReturnWhen.ALL_COMPLETED);
    }

    /** {@link #wait(Collection, Duration, ReturnWhen)} until all are done. */
    public static <F extends CompletableFuture<?>> DoneAndNotDone<F> wait(
            Collection<F> futures, Duration timeout) {
        return wait(futures, timeout, ReturnWhen.ALL_COMPLETED);
    }

    /** {@link #wait(Collection, Duration, ReturnWhen)} with no time limit. */
    public static <F extends CompletableFuture<?>> DoneAndNotDone<F> wait(
            Collection<F> futures, ReturnWhen returnWhen) {
        return wait(futures, null, returnWhen);
    }

    /**
     * Waits until {@code returnWhen} holds or the timeout passes, like
     * {@code wait(fs, timeout, return_when)}, and returns which futures were done then and
     * which were not (duplicates once, in input order).
     *
     * <ul>
     *   <li>{@link ReturnWhen#FIRST_COMPLETED}: any future is done.
     *   <li>{@link ReturnWhen#FIRST_EXCEPTION}: any future completed exceptionally (a cancelled
     *       one does not count, as in Python), or all are done.
     *   <li>{@link ReturnWhen#ALL_COMPLETED}: all are done.
     * </ul>
     *
     * <p>Returns at once if the condition already holds or {@code futures} is empty. Never
     * throws on timeout: it returns what is done by then. A null timeout means no limit; zero or
     * negative means do not wait.
     *
     * @throws NullPointerException if {@code futures}, one of its elements or {@code returnWhen}
     *     is null
     */
    public static <F extends CompletableFuture<?>> DoneAndNotDone<F> wait(
            Collection<F> futures, Duration timeout, ReturnWhen returnWhen) {
        Objects.requireNonNull(returnWhen, "returnWhen");
        Set<F> all = distinct(futures);
        List<F> pending = new ArrayList<>();
        boolean failed = false;
        for (F f : all) {
            if (!f.isDone()) {
                pending.add(f);
            } else if (failedNotCancelled(f)) {
                failed = true;
            }
        }
        boolean satisfied = pending.isEmpty()
                || returnWhen == ReturnWhen.FIRST_COMPLETED && pending.size() < all.size()
                || returnWhen == ReturnWhen.FIRST_EXCEPTION && failed;
        long limit = timeout == null ? -1 : saturatedNanos(timeout);
        if (!satisfied && (timeout == null || limit > 0)) {
            Waiter waiter = new Waiter(returnWhen, pending.size());
            for (F f : pending) {
                f.whenComplete((r, e) -> waiter.completed(f));
            }
            waiter.await(limit);
        }
        Set<F> done = new LinkedHashSet<>();
        Set<F> notDone = new LinkedHashSet<>();
        for (F f : all) {
            (f.isDone() ? done : notDone).add(f);
        }
        return new DoneAndNotDone<>(done, notDone);
    }

    /**
     * A live view of how far {@code futures} have come, like Dask's {@code progress()}: how many
     * are done and failed (a cancelled one counts as failed), of how many (duplicates once), at
     * what rate and when they should all be done. Each {@code CompletionStage} among them (a
     * {@code TaskFuture}, any {@code CompletableFuture}) is counted by one callback registered
     * now; another kind of {@link Future} is checked with {@code isDone()} when the view is read.
     *
     * @throws NullPointerException if {@code futures} or one of its elements is null
     */
    public static Progress progress(Collection<? extends Future<?>> futures) {
        return FuturesProgress.watch(List.copyOf(distinct(futures)), System::nanoTime);
    }

    /**
     * Waits until every one of {@code futures} is done, drawing a progress bar on standard
     * output meanwhile: redrawn in place on a terminal, a plain line every 5 s otherwise, and a
     * last line when they are all done. Returns the final progress; never throws for a failed
     * future (see {@link #progress}).
     *
     * @throws NullPointerException if {@code futures} or one of its elements is null
     */
    public static Progress showProgress(Collection<? extends Future<?>> futures) {
        return showProgress(futures, ProgressBar.onStdout());
    }

    static Progress showProgress(Collection<? extends Future<?>> futures, ProgressBar bar) {
        ProgressTracker progress = FuturesProgress.watch(List.copyOf(distinct(futures)), System::nanoTime);
        try {
            bar.update(progress.snapshot());
            while (!progress.awaitEnd(ProgressBar.REDRAW_INTERVAL_NANOS)) {
                bar.update(progress.snapshot());
            }
        } catch (InterruptedException e) {
            throw interrupted(e);
        } finally {
            bar.finish(progress.snapshot());   // the line ends, however the wait did
        }
        return progress.snapshot();
    }

    private static boolean failedNotCancelled(CompletableFuture<?> f) {
        return f.isCompletedExceptionally() && !f.isCancelled();
    }

    private static <F> Set<F> distinct(Collection<F> futures) {
        Objects.requireNonNull(futures, "futures");
        Set<F> set = new LinkedHashSet<>();
        for (F f : futures) {
            set.add(Objects.requireNonNull(f, "futures contains null"));
        }
        return set;
    }

    /** Nanoseconds of {@code d}, Long.MAX_VALUE (about 292 years) for anything longer. */
    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    private static CohortException interrupted(InterruptedException e) {
        Thread.currentThread().interrupt();
        return new CohortException("interrupted while waiting for futures", e);
    }

    /** Opens when the wait's condition holds; fed by completion callbacks. */
    private static final class Waiter {
        private final ReturnWhen returnWhen;
        private final AtomicInteger pending;
        private final CountDownLatch open = new CountDownLatch(1);

        Waiter(ReturnWhen returnWhen, int pending) {
            this.returnWhen = returnWhen;
            this.pending = new AtomicInteger(pending);
        }

        void completed(CompletableFuture<?> f) {
            boolean last = pending.decrementAndGet() == 0;
            if (last || returnWhen == ReturnWhen.FIRST_COMPLETED
                    || returnWhen == ReturnWhen.FIRST_EXCEPTION && failedNotCancelled(f)) {
                open.countDown();
            }
        }

        /** @param limit nanoseconds, or -1 for no limit */
        void await(long limit) {
            try {
                if (limit < 0) {
                    open.await();
                } else {
                    open.await(limit, TimeUnit.NANOSECONDS);
                }
            } catch (InterruptedException e) {
                throw interrupted(e);
            }
        }
    }

    /**
     * One pass of {@link #asCompleted}. The queue holds completed futures not yet yielded:
     * first those done when the pass started, then the others as their callbacks fire.
     */
    private static final class AsCompletedIterator<F extends CompletableFuture<?>>
            implements Iterator<F> {
        private final BlockingQueue<F> completed = new LinkedBlockingQueue<>();
        private final int total;
        private final long start;
        private final long limit; // nanoseconds from start, or -1 for no limit
        private int yielded;
        private F next;

        AsCompletedIterator(List<F> futures, long start, long limit) {
            this.total = futures.size();
            this.start = start;
            this.limit = limit;
            List<F> pending = new ArrayList<>();
            for (F f : futures) {
                if (f.isDone()) {
                    completed.add(f);
                } else {
                    pending.add(f);
                }
            }
            // Registered after the done ones are queued, so those come first.
            for (F f : pending) {
                f.whenComplete((r, e) -> completed.add(f));
            }
        }

        @Override
        public boolean hasNext() {
            if (next != null) {
                return true;
            }
            if (yielded == total) {
                return false;
            }
            F f = completed.poll();
            try {
                if (f == null && limit < 0) {
                    f = completed.take();
                } else if (f == null) {
                    long left = limit - (System.nanoTime() - start);
                    if (left > 0) {
                        f = completed.poll(left, TimeUnit.NANOSECONDS);
                    }
                }
            } catch (InterruptedException e) {
                throw interrupted(e);
            }
            if (f == null) {
                throw new CohortTimeoutException(
                        (total - yielded) + " (of " + total + ") futures unfinished");
            }
            next = f;
            return true;
        }

        @Override
        public F next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            F f = next;
            next = null;
            yielded++;
            return f;
        }
    }
}
