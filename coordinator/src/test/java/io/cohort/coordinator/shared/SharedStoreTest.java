package io.cohort.coordinator.shared;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.SharedCallRequest;
import io.cohort.proto.v1.SharedCallResponse;
import io.cohort.proto.v1.SharedHolder;
import io.cohort.proto.v1.SharedOp;
import io.cohort.proto.v1.SharedOpenRequest;
import io.cohort.proto.v1.SharedType;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The store alone, with timeouts fired by hand: no threads, no sleeps. */
class SharedStoreTest {
    private static final String S = "s-1";

    /** Timers that run only when the test says so. */
    private static final class ManualTimers implements Timers {
        final List<Runnable> due = new ArrayList<>();

        @Override
        public Runnable after(long millis, Runnable task) {
            due.add(task);
            return () -> due.remove(task);
        }

        void fireAll() {
            for (Runnable r : new ArrayList<>(due)) {
                due.remove(r);
                r.run();
            }
        }
    }

    /** Records the one answer of a call. */
    private static final class Answer implements Reply {
        SharedCallResponse response;
        Status status;
        boolean cancelled;

        @Override
        public void answer(SharedCallResponse r) {
            assertTrue(response == null && status == null, "answered twice");
            response = r;
        }

        @Override
        public void fail(Status s) {
            assertTrue(response == null && status == null, "answered twice");
            status = s;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        boolean answered() {
            return response != null || status != null;
        }
    }

    private final ManualTimers timers = new ManualTimers();
    private final SharedStore store = new SharedStore(timers, new SharedLimits(1 << 20, 4 << 20, 100, 8 << 20));

    private long open(SharedType type, long arg) {
        return store.open(SharedOpenRequest.newBuilder().setSessionId(S).setName(type.name()).setType(type)
                .setLongArg(arg).build()).getObjectId();
    }

    private static SharedCallRequest.Builder req(long id, SharedType type, SharedOp op) {
        return SharedCallRequest.newBuilder().setSessionId(S).setObjectId(id).setType(type).setOp(op)
                .setHolder(SharedHolder.newBuilder().setThreadId(1));
    }

    private static SharedCallRequest.Builder task(SharedCallRequest.Builder r, String worker, long key) {
        return r.setHolder(SharedHolder.newBuilder().setWorkerId(worker).setTaskKey(key).setAttempt(1));
    }

    private Answer call(SharedCallRequest.Builder r) {
        Answer a = new Answer();
        store.call(r.build(), a);
        return a;
    }

    @Test
    void counterAndTypeClash() {
        long id = open(SharedType.SHARED_LONG, 5);
        assertEquals(7, call(req(id, SharedType.SHARED_LONG, SharedOp.ADD_AND_GET).setLongArg(2)).response.getLongValue());
        assertTrue(call(req(id, SharedType.SHARED_LONG, SharedOp.COMPARE_AND_SET).setLongArg(7).setLongArg2(9)).response.getFlag());
        assertEquals(9, call(req(id, SharedType.SHARED_LONG, SharedOp.GET)).response.getLongValue());
        assertEquals(id, open(SharedType.SHARED_LONG, 100), "same name and type: the same object");
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> store.open(SharedOpenRequest
                .newBuilder().setSessionId(S).setName("SHARED_LONG").setType(SharedType.SHARED_MAP).build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        call(req(id, SharedType.SHARED_LONG, SharedOp.DELETE));
        assertEquals(Status.Code.NOT_FOUND, call(req(id, SharedType.SHARED_LONG, SharedOp.GET)).status.getCode());
    }

    @Test
    void lockPassesToWaiterAndIsReleasedWhenTheHolderEnds() {
        long id = open(SharedType.SHARED_LOCK, 0);
        assertTrue(call(task(req(id, SharedType.SHARED_LOCK, SharedOp.LOCK), "w-1", 10)).response.getFlag());
        Answer waiting = call(task(req(id, SharedType.SHARED_LOCK, SharedOp.LOCK), "w-2", 11));
        assertFalse(waiting.answered());
        Answer other = call(req(id, SharedType.SHARED_LOCK, SharedOp.UNLOCK));
        assertEquals(Status.Code.FAILED_PRECONDITION, other.status.getCode());
        store.taskEnded(10, 1);
        assertTrue(waiting.response.getFlag());
        store.workerLost("w-2");
        assertTrue(call(req(id, SharedType.SHARED_LOCK, SharedOp.LOCK).setTimeoutMs(0)).response.getFlag());
        store.sessionEnded(S);
        assertEquals(0, store.size());
    }

    @Test
    void cancelledWaiterIsSkippedAndAbandonGivesBack() {
        long id = open(SharedType.SHARED_LOCK, 0);
        call(req(id, SharedType.SHARED_LOCK, SharedOp.LOCK));
        Answer gone = call(task(req(id, SharedType.SHARED_LOCK, SharedOp.LOCK), "w-1", 3));
        gone.cancelled = true;
        Answer next = call(task(req(id, SharedType.SHARED_LOCK, SharedOp.LOCK).setRequestId(77), "w-1", 4));
        call(req(id, SharedType.SHARED_LOCK, SharedOp.UNLOCK));
        assertFalse(gone.answered());
        assertTrue(next.response.getFlag());
        store.abandon(S, id, 77);   // its caller gave up after the grant
        assertTrue(call(req(id, SharedType.SHARED_LOCK, SharedOp.LOCK).setTimeoutMs(0)).response.getFlag());
    }

    @Test
    void callsWaitingOnSharedObjectsAreCappedAndTheCapFreesAsTheyEnd() {
        SharedStore capped = new SharedStore(timers, new SharedLimits(1 << 20, 4 << 20, 100, 8 << 20, 2));
        long id = capped.open(SharedOpenRequest.newBuilder().setSessionId(S).setName("q").setType(SharedType.SHARED_QUEUE)
                .setLongArg(1).build()).getObjectId();
        java.util.function.Supplier<Answer> take = () -> {
            Answer a = new Answer();
            capped.call(req(id, SharedType.SHARED_QUEUE, SharedOp.QUEUE_TAKE).setTimeoutMs(1000).build(), a);
            return a;
        };
        Answer first = take.get();
        Answer second = take.get();
        Answer third = take.get();
        assertFalse(first.answered() || second.answered(), "two wait");
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, third.status.getCode());
        assertTrue(third.status.getDescription().contains("--shared-max-waiters"), third.status.getDescription());
        assertEquals(2, capped.parkedCalls());

        timers.fireAll();   // both time out
        assertTrue(first.answered() && second.answered());
        assertEquals(0, capped.parkedCalls(), "ended waits give their room back");
        assertFalse(take.get().answered(), "so a new call may wait again");
    }

    @Test
    void queueHandsOverAndTimesOut() {
        long id = open(SharedType.SHARED_QUEUE, 1);
        ByteString a = ByteString.copyFromUtf8("a");
        ByteString b = ByteString.copyFromUtf8("b");
        Answer take = call(req(id, SharedType.SHARED_QUEUE, SharedOp.QUEUE_TAKE).setTimeoutMs(1000));
        assertFalse(take.answered());
        assertTrue(call(req(id, SharedType.SHARED_QUEUE, SharedOp.QUEUE_PUT).setValue(a)).response.getFlag());
        assertEquals(a, take.response.getValue());
        assertTrue(call(req(id, SharedType.SHARED_QUEUE, SharedOp.QUEUE_PUT).setValue(a)).response.getFlag());
        Answer put = call(req(id, SharedType.SHARED_QUEUE, SharedOp.QUEUE_PUT).setValue(b).setTimeoutMs(1000));
        assertFalse(put.answered(), "full");
        Answer got = call(req(id, SharedType.SHARED_QUEUE, SharedOp.QUEUE_TAKE).setRequestId(5));
        assertEquals(a, got.response.getValue());
        assertTrue(put.response.getFlag(), "the parked put moved in");
        store.abandon(S, id, 5);   // "a" goes back to the head
        assertEquals(a, call(req(id, SharedType.SHARED_QUEUE, SharedOp.QUEUE_TAKE)).response.getValue());
        assertEquals(b, call(req(id, SharedType.SHARED_QUEUE, SharedOp.QUEUE_TAKE)).response.getValue());
        Answer late = call(req(id, SharedType.SHARED_QUEUE, SharedOp.QUEUE_TAKE).setTimeoutMs(50));
        timers.fireAll();
        assertNotNull(late.response);
        assertFalse(late.response.hasValue());
    }

    @Test
    void barrierTripsBreaksOnTimeoutAndResets() {
        long id = open(SharedType.SHARED_BARRIER, 3);
        Answer first = call(req(id, SharedType.SHARED_BARRIER, SharedOp.BARRIER_AWAIT).setTimeoutMs(1000));
        Answer second = call(req(id, SharedType.SHARED_BARRIER, SharedOp.BARRIER_AWAIT).setTimeoutMs(1000));
        Answer third = call(req(id, SharedType.SHARED_BARRIER, SharedOp.BARRIER_AWAIT));
        assertEquals(List.of(0L, 1L, 2L), List.of(first.response.getLongValue(), second.response.getLongValue(),
                third.response.getLongValue()));
        assertTrue(timers.due.isEmpty(), "timers of granted waiters are cancelled");
        Answer waits = call(req(id, SharedType.SHARED_BARRIER, SharedOp.BARRIER_AWAIT));
        Answer times = call(req(id, SharedType.SHARED_BARRIER, SharedOp.BARRIER_AWAIT).setTimeoutMs(10));
        timers.fireAll();
        assertEquals(Status.Code.DEADLINE_EXCEEDED, times.status.getCode());
        assertEquals(Status.Code.ABORTED, waits.status.getCode());
        assertEquals(Status.Code.ABORTED, call(req(id, SharedType.SHARED_BARRIER, SharedOp.BARRIER_AWAIT)).status.getCode());
        call(req(id, SharedType.SHARED_BARRIER, SharedOp.BARRIER_RESET));
        assertFalse(call(req(id, SharedType.SHARED_BARRIER, SharedOp.BARRIER_BROKEN)).response.getFlag());
    }

    @Test
    void eventWakesAllAndDeleteFailsWaiters() {
        long id = open(SharedType.SHARED_EVENT, 0);
        Answer one = call(req(id, SharedType.SHARED_EVENT, SharedOp.EVENT_WAIT));
        Answer two = call(req(id, SharedType.SHARED_EVENT, SharedOp.EVENT_WAIT).setTimeoutMs(100));
        call(req(id, SharedType.SHARED_EVENT, SharedOp.EVENT_SET));
        assertTrue(one.response.getFlag() && two.response.getFlag());
        call(req(id, SharedType.SHARED_EVENT, SharedOp.EVENT_CLEAR));
        Answer three = call(req(id, SharedType.SHARED_EVENT, SharedOp.EVENT_WAIT));
        store.sessionEnded(S);
        assertEquals(Status.Code.NOT_FOUND, three.status.getCode());
    }

    @Test
    void mapAndListKeepBytes() {
        long m = open(SharedType.SHARED_MAP, 0);
        ByteString k = ByteString.copyFromUtf8("k");
        assertFalse(call(req(m, SharedType.SHARED_MAP, SharedOp.MAP_PUT).setKey(k).setValue(k)).response.hasValue());
        assertEquals(k, call(req(m, SharedType.SHARED_MAP, SharedOp.MAP_GET).setKey(k)).response.getValue());
        assertNull(call(req(m, SharedType.SHARED_MAP, SharedOp.MAP_GET).setKey(ByteString.EMPTY)).status);
        long l = open(SharedType.SHARED_LIST, 0);
        call(req(l, SharedType.SHARED_LIST, SharedOp.LIST_ADD).setValue(k));
        assertEquals(Status.Code.OUT_OF_RANGE, call(req(l, SharedType.SHARED_LIST, SharedOp.LIST_GET).setIndex(1)).status.getCode());
        assertTrue(call(req(l, SharedType.SHARED_LIST, SharedOp.LIST_REMOVE_VALUE).setValue(k)).response.getFlag());
        assertEquals(0, call(req(l, SharedType.SHARED_LIST, SharedOp.SIZE)).response.getLongValue());
    }

    @Test
    void whatObjectsHoldCountsAgainstTheLimitsAndIsGivenBack() {
        long map = open(SharedType.SHARED_MAP, 0);
        ByteString half = ByteString.copyFrom(new byte[600_000]);
        assertTrue(call(req(map, SharedType.SHARED_MAP, SharedOp.MAP_PUT).setKey(ByteString.copyFromUtf8("a"))
                .setValue(half)).status == null);
        // A second such entry passes the 1 MiB an object may hold: refused, and the map unchanged.
        Answer over = call(req(map, SharedType.SHARED_MAP, SharedOp.MAP_PUT).setKey(ByteString.copyFromUtf8("b"))
                .setValue(half));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, over.status.getCode());
        assertTrue(over.status.getDescription().contains("--shared-max-object-bytes"), over.status.getDescription());
        assertEquals(1, call(req(map, SharedType.SHARED_MAP, SharedOp.SIZE)).response.getLongValue());
        // Replacing the entry counts the difference only.
        assertTrue(call(req(map, SharedType.SHARED_MAP, SharedOp.MAP_PUT).setKey(ByteString.copyFromUtf8("a"))
                .setValue(half)).status == null);

        long list = open(SharedType.SHARED_LIST, 0);
        long queue = open(SharedType.SHARED_QUEUE, 10);
        for (long id : List.of(list, queue)) {
            SharedType type = id == list ? SharedType.SHARED_LIST : SharedType.SHARED_QUEUE;
            SharedOp add = id == list ? SharedOp.LIST_ADD : SharedOp.QUEUE_PUT;
            assertTrue(call(req(id, type, add).setValue(half)).status == null);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, call(req(id, type, add).setValue(half)).status.getCode());
        }
        long before = store.bytes();
        call(req(map, SharedType.SHARED_MAP, SharedOp.MAP_REMOVE).setKey(ByteString.copyFromUtf8("a")));
        call(req(list, SharedType.SHARED_LIST, SharedOp.LIST_REMOVE_AT).setIndex(0));
        call(req(queue, SharedType.SHARED_QUEUE, SharedOp.QUEUE_TAKE));
        assertEquals(before - 3 * (600_000 + SharedLimits.ENTRY_OVERHEAD) - 1, store.bytes());

        // The session's 4 MiB: six arrays of 600 KB fit beside the emptied three, a seventh does not.
        for (int i = 0; i < 6; i++) {
            store.open(SharedOpenRequest.newBuilder().setSessionId(S).setName("arr" + i)
                    .setType(SharedType.SHARED_LONG_ARRAY).setLongArg(75_000).build());
        }
        StatusRuntimeException session = assertThrows(StatusRuntimeException.class, () -> store.open(SharedOpenRequest
                .newBuilder().setSessionId(S).setName("arr-last").setType(SharedType.SHARED_LONG_ARRAY)
                .setLongArg(75_000).build()));
        assertTrue(session.getStatus().getDescription().contains("--shared-max-session-bytes"),
                session.getStatus().getDescription());
        // When the session ends, its objects and their bytes go.
        store.sessionEnded(S);
        assertEquals(0, store.bytes());
        assertEquals(0, store.size());
    }

    @Test
    void aTakenItemKeptForAGiveBackStillCountsUntilItIsForgotten() {
        long q = open(SharedType.SHARED_QUEUE, 100);
        ByteString item = ByteString.copyFrom(new byte[1000]);
        call(req(q, SharedType.SHARED_QUEUE, SharedOp.QUEUE_PUT).setValue(item));
        long held = store.bytes();
        assertEquals(item, call(req(q, SharedType.SHARED_QUEUE, SharedOp.QUEUE_TAKE).setRequestId(5)).response.getValue());
        assertEquals(held, store.bytes(), "remembered for a give-back, so still held");
        store.abandon(S, q, 5);
        assertEquals(1, call(req(q, SharedType.SHARED_QUEUE, SharedOp.SIZE)).response.getLongValue());
        assertEquals(held, store.bytes());
        call(req(q, SharedType.SHARED_QUEUE, SharedOp.QUEUE_TAKE));   // no request id: nothing to give back
        assertEquals(held - 1000 - SharedLimits.ENTRY_OVERHEAD, store.bytes());
        // Takes remembered past the last 64 are forgotten, and stop counting.
        for (int i = 1; i <= 100; i++) {
            call(req(q, SharedType.SHARED_QUEUE, SharedOp.QUEUE_PUT).setValue(item));
            call(req(q, SharedType.SHARED_QUEUE, SharedOp.QUEUE_TAKE).setRequestId(1000 + i));
        }
        assertEquals(held - 1000 - SharedLimits.ENTRY_OVERHEAD + 64 * (1000 + SharedLimits.ENTRY_OVERHEAD), store.bytes());
    }
}
