package io.cohort.coordinator.core;

import java.util.function.Consumer;

/**
 * What the scheduler's parts share while it handles events: where commands go, the time of the
 * last tick, and whether something changed that may let a dispatch assign a task. One per
 * {@link Scheduler}; not thread-safe.
 */
final class Step {
    /** Where commands go now: the sink of the current {@link Scheduler#apply} or dispatch. */
    Consumer<Command> out;
    /** The scheduler's clock: the time of the last {@link Event.Tick}. */
    long now;
    /** Something that may allow an assignment changed since the last dispatch. */
    boolean dirty;

    void emit(Command c) {
        out.accept(c);
    }
}
