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
 * what has not run. Iterate once, from one thread (like any iterator).
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

    /**
     * {@code chunkSize} inputs per unit, or with {@code sizer} (then {@code chunkSize} is 0)
     * sizes it chooses, at most {@code maxUnitsOut} units ahead of the one being read.
     */
    MapResult(Iterator<?> inputs, UnitSender sender, int chunkSize, ChunkSizer sizer, int maxUnitsOut,
              int bufferSize, long deadlineNanos, boolean ordered) {
        this.inputs = inputs;
        this.sender = sender;
        this.chunkSize = chunkSize;
        this.sizer = sizer;
        this.maxUnitsOut = maxUnitsOut;
        this.bufferSize = bufferSize;
        this.deadlineNanos = deadlineNanos;
        this.ordered = ordered;
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

    /** Cancels what has not started and stops reading inputs. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
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
                    return false;
                }
                open(unit);
            }
            return true;
        }

        @Override
        @SuppressWarnings("unchecked")
        public R next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            int i = position++;
            readAhead--;
            if (position == current.size()) {
                unitsOut--;
            }
            Throwable failure = unitFailure != null ? unitFailure : failures == null ? null : failures[i];
            int index = current.firstIndex() + i;
            Object value = values == null ? null : values[i];
            if (readAhead <= fillAt) {
                fill();
            }
            if (failure != null) {
                throw new TaskFailedException("map element " + index + " failed: " + failure, failure);
            }
            return (R) value;
        }

        private void open(Unit unit) {
            current = unit;
            position = 0;
            values = null;
            failures = null;
            unitFailure = null;
            fillAt = Integer.MAX_VALUE;   // a unit fewer in flight: the next element may send more
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
