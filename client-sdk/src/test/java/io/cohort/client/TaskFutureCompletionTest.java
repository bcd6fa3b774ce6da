package io.cohort.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Only the cluster completes a TaskFuture; what is chained on it is an ordinary CompletableFuture. */
class TaskFutureCompletionTest {
    private static final TaskFuture.Canceller NOT_STARTED = new TaskFuture.Canceller() {
        @Override
        public void interruptRemote(TaskFuture<?> future) {
        }

        @Override
        public boolean removeIfNotStarted(TaskFuture<?> future) {
            return true;
        }
    };

    @Test
    void completingFromOutsideThrowsAndChangesNothing() {
        TaskFuture<Integer> f = new TaskFuture<>(7, "answer", NOT_STARTED);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> f.complete(1));
        assertTrue(e.getMessage().contains("only the cluster completes a TaskFuture"), e.getMessage());
        assertTrue(e.getMessage().contains("task 7 (answer)"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> f.completeExceptionally(new RuntimeException()));
        assertThrows(UnsupportedOperationException.class, () -> f.obtrudeValue(2));
        assertThrows(UnsupportedOperationException.class, () -> f.obtrudeException(new RuntimeException()));
        assertThrows(UnsupportedOperationException.class, () -> f.completeAsync(() -> 3));
        assertThrows(UnsupportedOperationException.class, () -> f.orTimeout(1, TimeUnit.MILLISECONDS));
        assertThrows(UnsupportedOperationException.class, () -> f.completeOnTimeout(4, 1, TimeUnit.MILLISECONDS));
        assertFalse(f.isDone());

        assertTrue(f.succeed(42));
        assertThrows(UnsupportedOperationException.class, () -> f.obtrudeValue(5), "not even once it is done");
        assertEquals(42, f.join());
    }

    @Test
    void cancelStillWorksAndDependentStagesAreOrdinaryFutures() {
        TaskFuture<Integer> f = new TaskFuture<>(8, "", NOT_STARTED);
        CompletableFuture<Integer> doubled = f.thenApply(x -> x * 2);
        CompletableFuture<Integer> copy = f.copy();
        assertSame(CompletableFuture.class, doubled.getClass());
        assertSame(CompletableFuture.class, copy.getClass());
        assertTrue(copy.complete(9), "a dependent stage may be completed by its owner");
        assertEquals(9, copy.join());
        assertTrue(f.cancel(false));
        assertTrue(f.isCancelled());
        assertTrue(doubled.isCompletedExceptionally());
    }

    @Test
    void theCompletionHookRunsOnceTheFutureIsDoneWithoutAddingADependent() {
        TaskFuture<Integer> f = new TaskFuture<>(9, "", NOT_STARTED);
        int ownDependents = f.getNumberOfDependents();
        AtomicInteger runs = new AtomicInteger();
        f.onCompletion(runs::incrementAndGet);
        assertEquals(ownDependents, f.getNumberOfDependents());
        assertEquals(0, runs.get());
        f.fail(new ArithmeticException());
        assertEquals(1, runs.get());

        TaskFuture<Integer> done = new TaskFuture<>(10, "", NOT_STARTED);
        done.succeed(1);
        done.onCompletion(runs::incrementAndGet);
        assertEquals(2, runs.get(), "set on a done future, the hook runs at once");
    }
}
