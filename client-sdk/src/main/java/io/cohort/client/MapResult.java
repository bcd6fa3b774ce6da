package io.cohort.client;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The results of a {@code map}, yielded lazily: in input order, or in completion order with
 * {@code MapOptions.ordered(false)}. Inputs are read only as results are taken, at most
 * {@code bufferSize} ahead, so an endless {@code Iterable} works.
 *
 * <p>A failed element throws {@link TaskFailedException} (cause: the task's exception) when
 * iteration reaches it; iteration may go on past it. Past the map's timeout, iteration throws
 * {@link CohortTimeoutException} and what has not run is cancelled. Closing early cancels
 * what has not run. Iterate once, from one thread (like any iterator), or take every
 * {@link #outcomes()} at once.
 *
 * <p>{@link #progress()} counts elements as their units of work complete (a hook on each
 * unit's future, on the completing thread), and again when iteration opens a unit, whichever
 * comes first, so what iteration has passed is always counted.
 */
public final class MapResult<R> implements Iterable<R>, AutoCloseable {
    /** Where units of work go: a chunk of inputs each, or a single input when a unit has one. */
    interface UnitSender {
        /** Sends {@code inputs} (all of the array) as one unit. */
        Sent send(Object[] inputs);

        /** Cancels the units that have not started, together. */
        void cancelNotStarted(List<TaskFuture<Object>> units);
    }

    /** A unit sent, and the size of its encoded inputs. */
    record Sent(TaskFuture<Object> future, long bytes) {}

    private static final class Unit {
        final TaskFuture<Object> future;
        final int firstIndex;
        final int size;
        final long sentNanos;
        volatile long doneNanos;   // set when the future completes; 0 until then
        boolean counted;           // in the progress; guarded by this unit

        Unit(TaskFuture<Object> future, int firstIndex, int size, long sentNanos) {
            this.future = future;
            this.firstIndex = firstIndex;
            this.size = size;
            this.sentNanos = sentNanos;
        }

        TaskFuture<Object> future() {
            return future;
        }

        int firstIndex() {
            return firstIndex;
        }

        int size() {
            return size;
        }
    }

    private final Iterator<?> inputs;
    private final UnitSender sender;
    private final int chunkSize;        // the user's; 0 when the sizer chooses
    private final ChunkSizer sizer;     // null when the user chose
    private final int maxUnitsOut;      // units sent and not yet opened, with the sizer
    private final int bufferSize;
    private final long deadlineNanos;   // Long.MAX_VALUE: no limit
    private final boolean ordered;
    private final ArrayDeque<Unit> inFlight = new ArrayDeque<>();
    private final LinkedBlockingQueue<Unit> finished = new LinkedBlockingQueue<>();
    private final ResultIterator iterator = new ResultIterator();
    private int readAhead;       // inputs sent whose results are not taken yet
    private int fillAt = Integer.MAX_VALUE;   // next() tries to send more when readAhead is at most this
    private int unitsOut;        // units sent and not yet taken (unordered mode)
    private int nextIndex;
    private boolean inputsDone;
    private boolean closed;
    private boolean iterated;
    private final ProgressTracker progress;
    private final ProgressBar bar;      // null: none

    /**
     * {@code chunkSize} inputs per unit, or with {@code sizer} (then {@code chunkSize} is 0)
     * sizes it chooses, at most {@code maxUnitsOut} units ahead of the one being read.
     */
    MapResult(Iterator<?> inputs, UnitSender sender, int chunkSize, ChunkSizer sizer, int maxUnitsOut,
              int bufferSize, long deadlineNanos, boolean ordered) {
        this(inputs, sender, chunkSize, sizer, maxUnitsOut, bufferSize, deadlineNanos, ordered,
                new ProgressTracker(System::nanoTime, -1, ProgressTracker.Listener.NONE), null);
    }

    /** As above, counting into {@code progress} and drawing its last line on {@code bar} (null: none) as iteration ends. */
    MapResult(Iterator<?> inputs, UnitSender sender, int chunkSize, ChunkSizer sizer, int maxUnitsOut,
              int bufferSize, long deadlineNanos, boolean ordered, ProgressTracker progress, ProgressBar bar) {
        this.inputs = inputs;
        this.sender = sender;
        this.chunkSize = chunkSize;
        this.sizer = sizer;
        this.maxUnitsOut = maxUnitsOut;
        this.bufferSize = bufferSize;
        this.deadlineNanos = deadlineNanos;
        this.ordered = ordered;
        this.progress = progress;
        this.bar = bar;
        fill();   // like Python's map, work starts at the call
    }

    /** The one iterator over the results; a second call throws {@link IllegalStateException}. */
    @Override
    public Iterator<R> iterator() {
        if (iterated) {
            throw new IllegalStateException("a MapResult can be iterated only once");
        }
        iterated = true;
        return iterator;
    }

    /** The results as a sequential stream; closing the stream closes this. */
    public Stream<R> stream() {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(iterator(),
                ordered ? Spliterator.ORDERED : 0), false).onClose(this::close);
    }

    /** Every result in a list; throws at the first failed element. */
    public List<R> toList() {
        List<R> out = new ArrayList<>();
        iterator().forEachRemaining(out::add);
        return out;
    }

    /**
     * Waits for every element and returns each one's outcome, value or failure, in input order
     * (also for {@code ordered(false)}); never throws for a failed element. Takes the place of
     * iterating: after {@link #iterator()} it throws {@link IllegalStateException}, and so does a
     * second call. Past the map's timeout it throws {@link CohortTimeoutException}, as iteration does.
     */
    public List<Outcome<R>> outcomes() {
        iterator();   // claims the one pass
        List<Outcome<R>> out = new ArrayList<>();
        while (iterator.hasNext()) {
            out.add(iterator.nextOutcome());
        }
        if (!ordered) {
            out.sort(java.util.Comparator.comparingLong(Outcome::index));
        }
        return out;
    }

    /**
     * How far the map has come, live: elements done and failed, the total (known for a
     * {@code Collection}'s inputs, else once they run out), rate and ETA. Counts stop when this
     * is closed.
     */
    public Progress progress() {
        return progress;
    }

    /** Cancels what has not started and stops reading inputs. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        endProgress();
        sender.cancelNotStarted(inFlight.stream().map(Unit::future).toList());
        inFlight.clear();
        finished.clear();
    }

    private void fill() {
        while (!closed && !inputsDone) {
            int want;
            if (sizer == null) {
                if (readAhead >= bufferSize) {
                    fillAt = bufferSize - 1;
                    return;
                }
                want = chunkSize;
            } else {
                if (inFlight.size() >= maxUnitsOut) {
                    fillAt = -1;   // a unit opened makes room: open() asks again
                    return;
                }
                want = sizer.next();
                if (bufferSize - readAhead < want) {
                    fillAt = bufferSize - want;
                    return;
                }
            }
            Object[] chunk = take(want);
            if (!inputs.hasNext()) {
                inputsDone = true;
            }
            if (chunk.length == 0) {
                progress.total(nextIndex);
                break;
            }
            long sentNanos = System.nanoTime();
            Sent sent = sender.send(chunk);
            Unit unit = new Unit(sent.future(), nextIndex, chunk.length, sentNanos);
            if (sizer != null) {
                sizer.sent(chunk.length, sent.bytes());
            }
            nextIndex += chunk.length;
            readAhead += chunk.length;
            unitsOut++;
            inFlight.addLast(unit);
            unit.future().onCompletion(() -> count(unit));
            if (inputsDone) {
                progress.total(nextIndex);
            }
            if (!ordered) {
                unit.future().whenComplete((v, e) -> {
                    unit.doneNanos = System.nanoTime();
                    finished.add(unit);
                });
            } else if (sizer != null) {
                unit.future().whenComplete((v, e) -> unit.doneNanos = System.nanoTime());
            }
        }
        fillAt = -1;   // closed, or no inputs left
    }

    /** Counts a done unit's elements into the progress, once: from its completion hook or when iteration opens it. */
    private void count(Unit unit) {
        if (!unit.future().isDone()) {
            return;
        }
        boolean ended;
        synchronized (unit) {
            if (unit.counted) {
                return;
            }
            unit.counted = true;
            ended = progress.add(unit.size(), failuresIn(unit));
        }
        progress.publish(ended);
    }

    private static long failuresIn(Unit unit) {
        TaskFuture<Object> f = unit.future();
        if (f.isCompletedExceptionally()) {
            return unit.size();   // failed or cancelled as a whole
        }
        if (f.getNow(null) instanceof ResultDecoder.ChunkOutcome outcome) {
            if (outcome.values().length != unit.size()) {
                return unit.size();
            }
            long failed = 0;
            if (outcome.failures() != null) {
                for (Throwable t : outcome.failures()) {
                    failed += t == null ? 0 : 1;
                }
            }
            return failed;
        }
        return 0;
    }

    /** The map is over (iterated to the end, or closed): counts stop, and the bar draws its last line here. */
    private void endProgress() {
        progress.end();
        if (bar != null) {
            bar.finish(progress.snapshot());
        }
    }

    /** Up to {@code want} inputs; the array grows as inputs come, so a huge chunk size costs nothing up front. */
    private Object[] take(int want) {
        Object[] chunk = new Object[Math.min(want, 1024)];
        int n = 0;
        while (n < want && inputs.hasNext()) {
            if (n == chunk.length) {
                chunk = java.util.Arrays.copyOf(chunk, (int) Math.min(want, 2L * n));
            }
            chunk[n++] = inputs.next();
        }
        return n == chunk.length ? chunk : java.util.Arrays.copyOf(chunk, n);
    }

    private Unit awaitNextUnit() {
        try {
            if (ordered) {
                Unit head = inFlight.peekFirst();
                if (head == null) {
                    return null;
                }
                awaitDone(head);
                return inFlight.pollFirst();
            }
            if (unitsOut == 0) {
                return null;
            }
            Unit done = deadlineNanos == Long.MAX_VALUE ? finished.take()
                    : finished.poll(deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (done == null) {
                throw timedOut();
            }
            inFlight.remove(done);
            return done;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CohortException("interrupted while waiting for map results", e);
        }
    }

    private void awaitDone(Unit unit) throws InterruptedException {
        try {
            if (deadlineNanos == Long.MAX_VALUE) {
                unit.future().exception(null);
            } else {
                unit.future().exception(java.time.Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime())));
            }
        } catch (TimeoutException e) {
            throw timedOut();
        } catch (CancellationException cancelled) {
            // reported per element below
        }
    }

    private CohortTimeoutException timedOut() {
        close();
        return new CohortTimeoutException("map timed out with results still outstanding");
    }

    private final class ResultIterator implements Iterator<R> {
        private Unit current;
        private Object[] values;
        private Throwable[] failures;
        private Throwable unitFailure;
        private int position;
        // the element advance() moved to
        private int index;
        private Object value;
        private Throwable failure;

        @Override
        public boolean hasNext() {
            while (current == null || position >= current.size()) {
                if (closed) {
                    return false;
                }
                current = null;
                fill();
                Unit unit = awaitNextUnit();
                if (unit == null) {
                    endProgress();
                    return false;
                }
                open(unit);
            }
            return true;
        }

        @Override
        @SuppressWarnings("unchecked")
        public R next() {
            advance();
            if (failure != null) {
                throw new TaskFailedException("map element " + index + " failed: " + failure, failure);
            }
            return (R) value;
        }

        /** The next element's outcome, without throwing for a failure. */
        @SuppressWarnings("unchecked")
        Outcome<R> nextOutcome() {
            advance();
            return failure != null ? ElementOutcome.failed(index, failure) : ElementOutcome.of(index, (R) value);
        }

        /** Moves to the next element: its index, and its value or failure. */
        private void advance() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            int i = position++;
            readAhead--;
            if (position == current.size()) {
                unitsOut--;
            }
            failure = unitFailure != null ? unitFailure : failures == null ? null : failures[i];
            index = current.firstIndex() + i;
            value = values == null ? null : values[i];
            if (readAhead <= fillAt) {
                fill();
            }
        }

        private void open(Unit unit) {
            current = unit;
            position = 0;
            values = null;
            failures = null;
            unitFailure = null;
            fillAt = Integer.MAX_VALUE;   // a unit fewer in flight: the next element may send more
            count(unit);
            if (sizer != null && unit.future().isDone()) {
                long done = unit.doneNanos;
                sizer.completed(unit.size(), (done == 0 ? System.nanoTime() : done) - unit.sentNanos);
            }
            try {
                Object result = unit.future().get();
                if (result instanceof ResultDecoder.ChunkOutcome outcome) {
                    if (outcome.values().length != unit.size()) {   // a worker's count is not trusted
                        unitFailure = new CohortException("task " + unit.future().describe() + ": worker "
                                + unit.future().workerId() + " sent " + outcome.values().length
                                + " results for a map chunk of " + unit.size() + " inputs");
                        return;
                    }
                    values = outcome.values();
                    failures = outcome.failures();
                } else {
                    values = new Object[] {result};
                }
            } catch (ExecutionException e) {
                unitFailure = e.getCause();
            } catch (CancellationException e) {
                unitFailure = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CohortException("interrupted while waiting for map results", e);
            }
        }
    }
}
