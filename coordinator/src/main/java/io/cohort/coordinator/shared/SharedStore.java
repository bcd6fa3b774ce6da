package io.cohort.coordinator.shared;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.SharedCallRequest;
import io.cohort.proto.v1.SharedCallResponse;
import io.cohort.proto.v1.SharedHolder;
import io.cohort.proto.v1.SharedOpenRequest;
import io.cohort.proto.v1.SharedOpenResponse;
import io.cohort.proto.v1.SharedType;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The shared objects of all sessions. Every operation runs under one monitor, so each is
 * atomic and they are linearized in the order they take it.
 *
 * <p>Design notes: a blocking call that cannot proceed becomes a {@link Waiter} parked on its
 * object, with a timer for its timeout; no thread waits. Whatever frees it (an unlock, a put,
 * a set, the last party) grants it under the monitor; answers are queued in {@link #outbox}
 * and sent after the monitor is released, so no gRPC call runs while it is held. A waiter
 * whose call was cancelled is skipped; one that was granted just before its caller gave up is
 * undone by {@link #abandon}.
 *
 * <p>Every object counts what it holds (see {@link SharedLimits}) against its session's and
 * the coordinator's limits; a call that would pass one fails with RESOURCE_EXHAUSTED naming
 * the limit and its flag, and changes nothing. A session's objects and usage go when it ends.
 *
 * <p>Thread-safe. Lifecycle hooks ({@link #taskEnded}, {@link #workerLost},
 * {@link #sessionEnded}) are called by the scheduler thread and return quickly.
 */
public final class SharedStore {
    /** Takes remembered per queue so that one whose caller gave up can be given back. */
    private static final int RECENT_TAKES = 64;

    private final Timers timers;
    private final SharedLimits limits;
    /** Guarded by this: session id -> what its objects hold. */
    private final Map<String, Usage> usage = new HashMap<>();
    /** Guarded by this: the bytes of all objects. */
    private long totalBytes;
    /** Guarded by this. */
    private final Map<Long, Obj> objects = new HashMap<>();
    /** Guarded by this: session id -> name -> object. */
    private final Map<String, Map<String, Obj>> names = new HashMap<>();
    /** Guarded by this: locks that have an owner. */
    private final Set<LockObj> held = new HashSet<>();
    /** held.size(), readable without the monitor: most tasks end holding no lock. */
    private volatile int heldCount;
    /** Guarded by this. */
    private final List<Runnable> outbox = new ArrayList<>();
    private long nextId = 1;

    /** Calls parked now (waiters not yet done); guarded by this. */
    private int parkedCalls;

    /** Calls parked now on shared objects. */
    public synchronized int parkedCalls() {
        return parkedCalls;
    }

    public SharedStore(Timers timers, SharedLimits limits) {
        this.timers = timers;
        this.limits = limits;
    }

    /** One session's objects and their bytes. */
    private static final class Usage {
        int objects;
        long bytes;
    }

    /** Who holds a lock. {@code session} is the namespace the call came from. */
    record Holder(String session, String worker, long taskKey, int attempt, long thread) {
        static Holder of(String session, SharedHolder h) {
            return new Holder(session, h.getWorkerId(), h.getTaskKey(), h.getAttempt(),
                    h.getTaskKey() != 0 ? 0 : h.getThreadId());
        }
    }

    // ---- the service's entry points

    /** Finds or creates; throws StatusRuntimeException for a name of another type or a bad size. */
    public SharedOpenResponse open(SharedOpenRequest r) {
        return open(r, () -> null);
    }

    /**
     * As {@link #open(SharedOpenRequest)}, after {@code refusal} (a status, or null to go on),
     * asked under the store's monitor: a session ended after it answered finds the new object
     * in {@link #sessionEnded}, which waits for the monitor.
     */
    public synchronized SharedOpenResponse open(SharedOpenRequest r, Supplier<Status> refusal) {
        Status refused = refusal.get();
        if (refused != null) {
            throw refused.asRuntimeException();
        }
        Map<String, Obj> inSession = names.computeIfAbsent(r.getSessionId(), s -> new HashMap<>());
        Obj existing = inSession.get(r.getName());
        if (existing != null) {
            if (existing.type != r.getType()) {
                throw Status.FAILED_PRECONDITION.withDescription("the name '" + r.getName() + "' is a "
                        + typeName(existing.type) + " in this session, not a " + typeName(r.getType()))
                        .asRuntimeException();
            }
            return SharedOpenResponse.newBuilder().setObjectId(existing.id).setSize(existing.size()).build();
        }
        long bytes = initialBytes(r);
        Usage u = usage.computeIfAbsent(r.getSessionId(), s -> new Usage());
        if (u.objects >= limits.maxSessionObjects()) {
            throw exhausted("this session has " + u.objects + " shared objects, the most one session may have"
                    + " (coordinator flag --shared-max-session-objects)");
        }
        checkRoom(u, typeName(r.getType()) + " '" + r.getName() + "'", bytes, bytes);
        Obj o = create(r);
        u.objects++;
        account(o, bytes);
        inSession.put(o.name, o);
        objects.put(o.id, o);
        return SharedOpenResponse.newBuilder().setObjectId(o.id).setSize(o.size()).build();
    }

    /**
     * Runs one operation; the answer goes to {@code reply} (after this returns, or later for a
     * parked call). Returns the parked waiter, to {@link #cancel} when the call is cancelled, or null.
     */
    public Waiter call(SharedCallRequest r, Reply reply) {
        Waiter[] parked = new Waiter[1];
        locked(() -> {
            try {
                Obj o = find(r.getSessionId(), r.getObjectId(), r.getType());
                parked[0] = o.call(r, reply);
            } catch (StatusRuntimeException e) {
                outbox.add(() -> reply.fail(e.getStatus()));
            }
        });
        return parked[0];
    }

    /** The call of this waiter was cancelled: it stops waiting (a barrier breaks). */
    public void cancel(Waiter w) {
        stopWaiting(w, x -> x.obj.cancelled(x));
    }

    /** The caller of {@code requestId} gave up: remove its waiter, or give back what it was granted. */
    public void abandon(String session, long objectId, long requestId) {
        locked(() -> {
            Obj o = objects.get(objectId);
            if (o != null && o.session.equals(session) && requestId != 0) {
                o.abandon(requestId);
            }
        });
    }

    // ---- lifecycle hooks

    /** A task attempt's result reached the coordinator: its locks are released. */
    public void taskEnded(long taskKey, int attempt) {
        if (heldCount > 0) {
            releaseWhere(h -> h.taskKey() == taskKey && h.attempt() == attempt);
        }
    }

    /** A worker was lost: locks taken by anything running on it are released. */
    public void workerLost(String workerId) {
        if (heldCount > 0) {
            releaseWhere(h -> h.worker().equals(workerId));
        }
    }

    /** A client session ended: its objects are deleted and its client threads' locks released. */
    public void sessionEnded(String sessionId) {
        locked(() -> {
            Map<String, Obj> inSession = names.remove(sessionId);
            if (inSession != null) {
                new ArrayList<>(inSession.values()).forEach(SharedStore.this::delete);
            }
            usage.remove(sessionId);
        });
        releaseWhere(h -> h.worker().isEmpty() && h.session().equals(sessionId));
    }

    /** Number of live objects (for tests and status). */
    public synchronized int size() {
        return objects.size();
    }

    /** Bytes the objects of all sessions hold, as counted against {@link SharedLimits#maxTotalBytes()}. */
    public synchronized long bytes() {
        return totalBytes;
    }

    private void releaseWhere(Predicate<Holder> which) {
        locked(() -> {
            for (LockObj l : new ArrayList<>(held)) {
                if (which.test(l.owner)) {
                    l.release();
                }
            }
        });
    }

    // ---- internals

    /** Runs {@code step} under the monitor, then sends the answers it queued. */
    private void locked(Runnable step) {
        synchronized (this) {
            step.run();
        }
        flush();
    }

    /** Ends a parked wait before it was granted; {@code then} answers it as the cause requires. */
    private void stopWaiting(Waiter w, Consumer<Waiter> then) {
        locked(() -> {
            if (!w.done) {
                w.obj.remove(w);
                finish(w);
                then.accept(w);
            }
        });
    }

    private void flush() {
        List<Runnable> answers;
        synchronized (this) {
            if (outbox.isEmpty()) {
                return;
            }
            answers = new ArrayList<>(outbox);
            outbox.clear();
        }
        for (Runnable a : answers) {
            a.run();
        }
    }

    private Obj find(String session, long id, SharedType type) {
        Obj o = objects.get(id);
        if (o == null || !o.session.equals(session)) {
            throw Status.NOT_FOUND.withDescription("the shared object was deleted (closed, or its session ended)")
                    .asRuntimeException();
        }
        if (o.type != type) {
            throw Status.FAILED_PRECONDITION.withDescription("'" + o.name + "' is a " + typeName(o.type)
                    + ", not a " + typeName(type)).asRuntimeException();
        }
        return o;
    }

    private Obj create(SharedOpenRequest r) {
        long id = nextId++;
        long n = r.getLongArg();
        return switch (r.getType()) {
            case SHARED_LONG -> new Numbers(id, r, new long[] {n}, null);
            case SHARED_DOUBLE -> new Numbers(id, r, null, new double[] {r.getDoubleArg()});
            case SHARED_LONG_ARRAY -> new Numbers(id, r, new long[checkSize(n, 0, "length")], null);
            case SHARED_DOUBLE_ARRAY -> new Numbers(id, r, null, new double[checkSize(n, 0, "length")]);
            case SHARED_MAP -> new MapObj(id, r);
            case SHARED_LIST -> new ListObj(id, r);
            case SHARED_QUEUE -> new QueueObj(id, r, checkSize(n, 1, "capacity"));
            case SHARED_LOCK -> new LockObj(id, r);
            case SHARED_EVENT -> new EventObj(id, r);
            case SHARED_BARRIER -> new BarrierObj(id, r, checkSize(n, 1, "parties"));
            default -> throw Status.INVALID_ARGUMENT.withDescription("unknown shared type " + r.getTypeValue())
                    .asRuntimeException();
        };
    }

    /** What a new object takes before anything is put in it. */
    private static long initialBytes(SharedOpenRequest r) {
        boolean array = r.getType() == SharedType.SHARED_LONG_ARRAY || r.getType() == SharedType.SHARED_DOUBLE_ARRAY;
        return SharedLimits.ENTRY_OVERHEAD + (array ? 8L * checkSize(r.getLongArg(), 0, "length") : 0);
    }

    /**
     * Refuses growth that would take an object to {@code objectBytes}, its session {@code delta}
     * further, or the coordinator past its total; {@code what} names the object.
     */
    private void checkRoom(Usage u, String what, long objectBytes, long delta) {
        if (objectBytes > limits.maxObjectBytes()) {
            throw exhausted("the " + what + " would take " + objectBytes + " bytes, over the limit of "
                    + limits.maxObjectBytes() + " bytes for one shared object (coordinator flag --shared-max-object-bytes)");
        }
        if (u.bytes + delta > limits.maxSessionBytes()) {
            throw exhausted("the " + what + " would take this session's shared objects to " + (u.bytes + delta)
                    + " bytes, over the limit of " + limits.maxSessionBytes()
                    + " bytes per session (coordinator flag --shared-max-session-bytes)");
        }
        if (totalBytes + delta > limits.maxTotalBytes()) {
            throw exhausted("the " + what + " would take all sessions' shared objects past the coordinator's limit of "
                    + limits.maxTotalBytes() + " bytes (coordinator flag --shared-max-total-bytes)");
        }
    }

    private static StatusRuntimeException exhausted(String message) {
        return Status.RESOURCE_EXHAUSTED.withDescription(message).asRuntimeException();
    }

    /** {@code o} grows by {@code delta} bytes, or the call fails naming the limit it would pass. */
    private void grow(Obj o, long delta) {
        if (delta > 0) {
            checkRoom(usage.get(o.session), typeName(o.type) + " '" + o.name + "'", o.bytes + delta, delta);
        }
        account(o, delta);
    }

    /** Counts {@code delta} bytes for {@code o} without a check (what is given back, or must be kept). */
    private void account(Obj o, long delta) {
        o.bytes += delta;
        usage.get(o.session).bytes += delta;
        totalBytes += delta;
    }

    /** What a map entry or a list or queue element takes. */
    private static long entryBytes(ByteString key, ByteString value) {
        return SharedLimits.ENTRY_OVERHEAD + key.size() + value.size();
    }

    private static int checkSize(long n, int min, String what) {
        if (n < min || n > Integer.MAX_VALUE - 8) {
            throw Status.INVALID_ARGUMENT.withDescription(what + " must be at least " + min + ", not " + n)
                    .asRuntimeException();
        }
        return (int) n;
    }

    private void delete(Obj o) {
        if (objects.remove(o.id) == null) {
            return;
        }
        account(o, -o.bytes);
        Usage u = usage.get(o.session);
        if (--u.objects == 0) {
            usage.remove(o.session);
        }
        Map<String, Obj> inSession = names.get(o.session);
        if (inSession != null && inSession.get(o.name) == o) {
            inSession.remove(o.name);
        }
        for (Waiter w : o.waiters()) {
            finish(w);
            fail(w, Status.NOT_FOUND.withDescription("the shared object '" + o.name + "' was deleted"));
        }
        if (o instanceof LockObj l && l.owner != null) {
            held.remove(l);
            heldCount = held.size();
        }
    }

    /** Parks a call; one past {@link SharedLimits#maxWaiters} is refused before anything else changes. */
    private Waiter park(Obj o, SharedCallRequest r, Reply reply) {
        if (parkedCalls >= limits.maxWaiters()) {
            throw Status.RESOURCE_EXHAUSTED.withDescription(parkedCalls + " calls already wait on shared objects, the"
                    + " coordinator's limit (coordinator flag --shared-max-waiters): try again, or with a timeout of 0")
                    .asRuntimeException();
        }
        parkedCalls++;
        Waiter w = new Waiter(o, r.getRequestId(), reply, Holder.of(r.getSessionId(), r.getHolder()));
        if (r.hasTimeoutMs()) {
            w.cancelTimer = timers.after(r.getTimeoutMs(), () -> timedOut(w));
        }
        return w;
    }

    private void timedOut(Waiter w) {
        stopWaiting(w, x -> x.obj.timedOut(x));
    }

    private void finish(Waiter w) {
        if (!w.done) {
            parkedCalls--;
        }
        w.done = true;
        if (w.cancelTimer != null) {
            w.cancelTimer.run();
        }
    }

    private void answer(Reply reply, SharedCallResponse response) {
        outbox.add(() -> reply.answer(response));
    }

    private void grant(Waiter w, SharedCallResponse response) {
        finish(w);
        answer(w.reply, response);
    }

    private void fail(Waiter w, Status status) {
        outbox.add(() -> w.reply.fail(status));
    }

    /** The first waiter whose call is still wanted; cancelled ones are dropped. */
    private Waiter pollLive(ArrayDeque<Waiter> q) {
        for (Waiter w = q.poll(); w != null; w = q.poll()) {
            if (!w.reply.isCancelled()) {
                return w;
            }
            finish(w);
        }
        return null;
    }

    private static SharedCallResponse flag(boolean b) {
        return SharedCallResponse.newBuilder().setFlag(b).build();
    }

    private static final SharedCallResponse EMPTY = SharedCallResponse.getDefaultInstance();

    private static StatusRuntimeException badOp(Obj o, SharedCallRequest r) {
        return Status.INVALID_ARGUMENT.withDescription(r.getOp() + " is not an operation of a " + typeName(o.type))
                .asRuntimeException();
    }

    private static StatusRuntimeException outOfRange(long index, int size) {
        return Status.OUT_OF_RANGE.withDescription("index " + index + " out of bounds for length " + size)
                .asRuntimeException();
    }

    private static int checkIndex(long index, int size) {
        if (index < 0 || index >= size) {
            throw outOfRange(index, size);
        }
        return (int) index;
    }

    static String typeName(SharedType t) {
        return switch (t) {
            case SHARED_LONG -> "SharedLong";
            case SHARED_DOUBLE -> "SharedDouble";
            case SHARED_LONG_ARRAY -> "SharedLongArray";
            case SHARED_DOUBLE_ARRAY -> "SharedDoubleArray";
            case SHARED_MAP -> "SharedMap";
            case SHARED_LIST -> "SharedList";
            case SHARED_QUEUE -> "SharedQueue";
            case SHARED_LOCK -> "SharedLock";
            case SHARED_EVENT -> "SharedEvent";
            case SHARED_BARRIER -> "SharedBarrier";
            default -> "shared object of type " + t;
        };
    }

    /** A call parked on an object until it can proceed, times out or is cancelled. */
    public static final class Waiter {
        final Obj obj;
        final long requestId;
        final Reply reply;
        final Holder holder;
        ByteString item;        // a put's value
        int index;              // a barrier arrival's index
        Runnable cancelTimer;
        boolean done;           // guarded by the store

        Waiter(Obj obj, long requestId, Reply reply, Holder holder) {
            this.obj = obj;
            this.requestId = requestId;
            this.reply = reply;
            this.holder = holder;
        }
    }

    /** One shared object. Every method runs under the store's monitor. */
    private abstract class Obj {
        final long id;
        final String session;
        final String name;
        final SharedType type;
        /** What it holds, as counted against the limits; guarded by the store. */
        long bytes;

        Obj(long id, SharedOpenRequest r) {
            this.id = id;
            this.session = r.getSessionId();
            this.name = r.getName();
            this.type = r.getType();
        }

        /** Length, capacity or parties, told to whoever opens it. */
        long size() {
            return 0;
        }

        final Waiter call(SharedCallRequest r, Reply reply) {
            if (r.getOp() == io.cohort.proto.v1.SharedOp.DELETE) {
                delete(this);
                answer(reply, EMPTY);
                return null;
            }
            return op(r, reply);
        }

        /** Runs the operation; answers at once and returns null, or parks and returns the waiter. */
        abstract Waiter op(SharedCallRequest r, Reply reply);

        /** The parked waiters. */
        List<Waiter> waiters() {
            return List.of();
        }

        void remove(Waiter w) {
        }

        void timedOut(Waiter w) {
            answer(w.reply, EMPTY);
        }

        void cancelled(Waiter w) {
        }

        void abandon(long requestId) {
            for (Waiter w : waiters()) {
                if (w.requestId == requestId) {
                    remove(w);
                    finish(w);
                    fail(w, Status.CANCELLED.withDescription("abandoned"));
                    cancelled(w);
                }
            }
        }
    }

    private final class Numbers extends Obj {
        final long[] longs;
        final double[] doubles;

        Numbers(long id, SharedOpenRequest r, long[] longs, double[] doubles) {
            super(id, r);
            this.longs = longs;
            this.doubles = doubles;
        }

        @Override
        long size() {
            return longs != null ? longs.length : doubles.length;
        }

        @Override
        Waiter op(SharedCallRequest r, Reply reply) {
            SharedCallResponse.Builder b = SharedCallResponse.newBuilder();
            if (r.getOp() == io.cohort.proto.v1.SharedOp.TO_ARRAY) {
                if (longs != null) {
                    for (long v : longs) {
                        b.addLongs(v);
                    }
                } else {
                    for (double v : doubles) {
                        b.addDoubles(v);
                    }
                }
                answer(reply, b.build());
                return null;
            }
            int i = checkIndex(r.getIndex(), (int) size());
            if (longs != null) {
                long old = longs[i];
                switch (r.getOp()) {
                    case GET -> b.setLongValue(old);
                    case SET -> longs[i] = r.getLongArg();
                    case ADD_AND_GET -> b.setLongValue(longs[i] += r.getLongArg());
                    case GET_AND_ADD -> {
                        longs[i] += r.getLongArg();
                        b.setLongValue(old);
                    }
                    case COMPARE_AND_SET -> {
                        boolean same = old == r.getLongArg();
                        if (same) {
                            longs[i] = r.getLongArg2();
                        }
                        b.setFlag(same);
                    }
                    default -> throw badOp(this, r);
                }
            } else {
                double old = doubles[i];
                switch (r.getOp()) {
                    case GET -> b.setDoubleValue(old);
                    case SET -> doubles[i] = r.getDoubleArg();
                    case ADD_AND_GET -> b.setDoubleValue(doubles[i] += r.getDoubleArg());
                    case GET_AND_ADD -> {
                        doubles[i] += r.getDoubleArg();
                        b.setDoubleValue(old);
                    }
                    case COMPARE_AND_SET -> {
                        // By bits, like Guava's AtomicDouble: NaN matches NaN, 0.0 does not match -0.0.
                        boolean same = Double.doubleToRawLongBits(old) == Double.doubleToRawLongBits(r.getDoubleArg());
                        if (same) {
                            doubles[i] = r.getDoubleArg2();
                        }
                        b.setFlag(same);
                    }
                    default -> throw badOp(this, r);
                }
            }
            answer(reply, b.build());
            return null;
        }
    }

    private final class MapObj extends Obj {
        final LinkedHashMap<ByteString, ByteString> map = new LinkedHashMap<>();

        MapObj(long id, SharedOpenRequest r) {
            super(id, r);
        }

        @Override
        Waiter op(SharedCallRequest r, Reply reply) {
            SharedCallResponse.Builder b = SharedCallResponse.newBuilder();
            ByteString old = null;
            ByteString key = r.getKey();
            switch (r.getOp()) {
                case MAP_GET -> old = map.get(key);
                case MAP_PUT -> {
                    ByteString before = map.get(key);
                    grow(this, entryBytes(key, r.getValue()) - (before == null ? 0 : entryBytes(key, before)));
                    old = map.put(key, r.getValue());
                }
                case MAP_PUT_IF_ABSENT -> {
                    old = map.get(key);
                    if (old == null) {
                        grow(this, entryBytes(key, r.getValue()));
                        map.put(key, r.getValue());
                    }
                }
                case MAP_REMOVE -> {
                    old = map.remove(key);
                    if (old != null) {
                        account(this, -entryBytes(key, old));
                    }
                }
                case MAP_CONTAINS_KEY -> b.setFlag(map.containsKey(key));
                case SIZE -> b.setLongValue(map.size());
                case CLEAR -> {
                    map.clear();
                    account(this, SharedLimits.ENTRY_OVERHEAD - bytes);
                }
                case MAP_ENTRIES -> {
                    b.addAllKeys(map.keySet());
                    b.addAllValues(map.values());
                }
                default -> throw badOp(this, r);
            }
            if (old != null) {
                b.setValue(old);
            }
            answer(reply, b.build());
            return null;
        }
    }

    private final class ListObj extends Obj {
        final ArrayList<ByteString> list = new ArrayList<>();

        ListObj(long id, SharedOpenRequest r) {
            super(id, r);
        }

        @Override
        Waiter op(SharedCallRequest r, Reply reply) {
            SharedCallResponse.Builder b = SharedCallResponse.newBuilder();
            switch (r.getOp()) {
                case LIST_GET -> b.setValue(list.get(checkIndex(r.getIndex(), list.size())));
                case LIST_SET -> {
                    int i = checkIndex(r.getIndex(), list.size());
                    grow(this, (long) r.getValue().size() - list.get(i).size());
                    b.setValue(list.set(i, r.getValue()));
                }
                case LIST_ADD -> {
                    grow(this, entryBytes(ByteString.EMPTY, r.getValue()));
                    list.add(r.getValue());
                }
                case LIST_INSERT -> {
                    if (r.getIndex() < 0 || r.getIndex() > list.size()) {
                        throw outOfRange(r.getIndex(), list.size());
                    }
                    grow(this, entryBytes(ByteString.EMPTY, r.getValue()));
                    list.add(r.getIndex(), r.getValue());
                }
                case LIST_REMOVE_AT -> {
                    ByteString gone = list.remove(checkIndex(r.getIndex(), list.size()));
                    account(this, -entryBytes(ByteString.EMPTY, gone));
                    b.setValue(gone);
                }
                case LIST_REMOVE_VALUE -> {
                    boolean removed = list.remove(r.getValue());
                    if (removed) {
                        account(this, -entryBytes(ByteString.EMPTY, r.getValue()));
                    }
                    b.setFlag(removed);
                }
                case SIZE -> b.setLongValue(list.size());
                case CLEAR -> {
                    list.clear();
                    account(this, SharedLimits.ENTRY_OVERHEAD - bytes);
                }
                case LIST_ALL -> b.addAllValues(list);
                default -> throw badOp(this, r);
            }
            answer(reply, b.build());
            return null;
        }
    }

    private final class QueueObj extends Obj {
        final int capacity;
        final ArrayDeque<ByteString> items = new ArrayDeque<>();
        final ArrayDeque<Waiter> putters = new ArrayDeque<>();
        final ArrayDeque<Waiter> takers = new ArrayDeque<>();
        /**
         * request id -> item, for takes whose caller may give up after the grant. Its items
         * still count against the limits: they are held until forgotten.
         */
        final LinkedHashMap<Long, ByteString> recentTakes = new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, ByteString> eldest) {
                if (size() <= RECENT_TAKES) {
                    return false;
                }
                account(QueueObj.this, -entryBytes(ByteString.EMPTY, eldest.getValue()));
                return true;
            }
        };

        QueueObj(long id, SharedOpenRequest r, int capacity) {
            super(id, r);
            this.capacity = capacity;
        }

        @Override
        long size() {
            return capacity;
        }

        @Override
        Waiter op(SharedCallRequest r, Reply reply) {
            switch (r.getOp()) {
                case SIZE -> answer(reply, SharedCallResponse.newBuilder().setLongValue(items.size()).build());
                case QUEUE_PUT -> {
                    long more = entryBytes(ByteString.EMPTY, r.getValue());
                    // Counted before it goes anywhere; a put past a limit is refused, not parked.
                    grow(this, more);
                    if (offer(r.getValue())) {
                        answer(reply, flag(true));
                    } else if (r.hasTimeoutMs() && r.getTimeoutMs() <= 0) {
                        account(this, -more);
                        answer(reply, flag(false));
                    } else {
                        account(this, -more);   // a waiting put is counted when it gets in
                        Waiter w = park(this, r, reply);
                        w.item = r.getValue();
                        putters.add(w);
                        return w;
                    }
                }
                case QUEUE_TAKE -> {
                    ByteString item = items.poll();
                    if (item != null) {
                        Waiter p = pollLive(putters);
                        if (p != null) {
                            items.add(p.item);
                            account(this, entryBytes(ByteString.EMPTY, p.item));   // checked when it parked
                            grant(p, flag(true));
                        }
                        taken(r.getRequestId(), item, reply);
                    } else if (r.hasTimeoutMs() && r.getTimeoutMs() <= 0) {
                        answer(reply, EMPTY);
                    } else {
                        Waiter w = park(this, r, reply);
                        takers.add(w);
                        return w;
                    }
                }
                default -> throw badOp(this, r);
            }
            return null;
        }

        /** Hands the item to a waiting taker or queues it; false when full. */
        private boolean offer(ByteString item) {
            Waiter t = pollLive(takers);
            if (t != null) {
                finish(t);
                taken(t.requestId, item, t.reply);
                return true;
            }
            if (items.size() < capacity) {
                items.add(item);
                return true;
            }
            return false;
        }

        /** Answers a take; the item stays counted while it is remembered for a give-back. */
        private void taken(long requestId, ByteString item, Reply reply) {
            ByteString replaced = requestId != 0 ? recentTakes.put(requestId, item) : item;
            if (replaced != null) {
                account(this, -entryBytes(ByteString.EMPTY, replaced));
            }
            answer(reply, SharedCallResponse.newBuilder().setValue(item).build());
        }

        @Override
        List<Waiter> waiters() {
            List<Waiter> all = new ArrayList<>(putters);
            all.addAll(takers);
            return all;
        }

        @Override
        void remove(Waiter w) {
            putters.remove(w);
            takers.remove(w);
        }

        @Override
        void timedOut(Waiter w) {
            answer(w.reply, w.item != null ? flag(false) : EMPTY);
        }

        @Override
        void abandon(long requestId) {
            super.abandon(requestId);
            ByteString item = recentTakes.remove(requestId);
            if (item != null) {
                // Back to the head, where it was; a full queue may go one over its capacity.
                Waiter t = pollLive(takers);
                if (t != null) {
                    finish(t);
                    taken(t.requestId, item, t.reply);
                } else {
                    items.addFirst(item);   // still counted: remembered takes are
                }
            }
        }
    }

    private final class LockObj extends Obj {
        final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
        Holder owner;
        long ownerRequest;

        LockObj(long id, SharedOpenRequest r) {
            super(id, r);
        }

        @Override
        Waiter op(SharedCallRequest r, Reply reply) {
            Holder h = Holder.of(r.getSessionId(), r.getHolder());
            switch (r.getOp()) {
                case LOCK -> {
                    if (owner == null) {
                        take(h, r.getRequestId());
                        answer(reply, flag(true));
                    } else if (r.hasTimeoutMs() && r.getTimeoutMs() <= 0) {
                        answer(reply, flag(false));
                    } else {
                        // Not reentrant: the holder itself waits too, as with Python's Lock.
                        Waiter w = park(this, r, reply);
                        waiting.add(w);
                        return w;
                    }
                }
                case UNLOCK -> {
                    if (!h.equals(owner)) {
                        throw Status.FAILED_PRECONDITION.withDescription("the lock '" + name + "' is "
                                + (owner == null ? "not held" : "held by another holder")).asRuntimeException();
                    }
                    release();
                    answer(reply, EMPTY);
                }
                default -> throw badOp(this, r);
            }
            return null;
        }

        private void take(Holder h, long requestId) {
            owner = h;
            ownerRequest = requestId;
            held.add(this);
            heldCount = held.size();
        }

        void release() {
            owner = null;
            held.remove(this);
            heldCount = held.size();
            Waiter w = pollLive(waiting);
            if (w != null) {
                take(w.holder, w.requestId);
                grant(w, flag(true));
            }
        }

        @Override
        List<Waiter> waiters() {
            return List.copyOf(waiting);
        }

        @Override
        void remove(Waiter w) {
            waiting.remove(w);
        }

        @Override
        void timedOut(Waiter w) {
            answer(w.reply, flag(false));
        }

        @Override
        void abandon(long requestId) {
            super.abandon(requestId);
            if (owner != null && ownerRequest == requestId) {
                release();
            }
        }
    }

    private final class EventObj extends Obj {
        final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
        boolean set;

        EventObj(long id, SharedOpenRequest r) {
            super(id, r);
        }

        @Override
        Waiter op(SharedCallRequest r, Reply reply) {
            switch (r.getOp()) {
                case EVENT_SET -> {
                    set = true;
                    for (Waiter w = pollLive(waiting); w != null; w = pollLive(waiting)) {
                        grant(w, flag(true));
                    }
                    answer(reply, EMPTY);
                }
                case EVENT_CLEAR -> {
                    set = false;
                    answer(reply, EMPTY);
                }
                case EVENT_IS_SET -> answer(reply, flag(set));
                case EVENT_WAIT -> {
                    if (set || (r.hasTimeoutMs() && r.getTimeoutMs() <= 0)) {
                        answer(reply, flag(set));
                    } else {
                        Waiter w = park(this, r, reply);
                        waiting.add(w);
                        return w;
                    }
                }
                default -> throw badOp(this, r);
            }
            return null;
        }

        @Override
        List<Waiter> waiters() {
            return List.copyOf(waiting);
        }

        @Override
        void remove(Waiter w) {
            waiting.remove(w);
        }

        @Override
        void timedOut(Waiter w) {
            answer(w.reply, flag(false));
        }
    }

    private final class BarrierObj extends Obj {
        final int parties;
        /** The current generation's arrivals, by index. */
        final List<Waiter> arrived = new ArrayList<>();
        boolean broken;

        BarrierObj(long id, SharedOpenRequest r, int parties) {
            super(id, r);
            this.parties = parties;
        }

        @Override
        long size() {
            return parties;
        }

        @Override
        Waiter op(SharedCallRequest r, Reply reply) {
            switch (r.getOp()) {
                case BARRIER_AWAIT -> {
                    if (broken) {
                        throw brokenStatus().asRuntimeException();
                    }
                    int index = arrived.size();
                    if (index + 1 == parties) {
                        for (Waiter w : arrived) {
                            grant(w, SharedCallResponse.newBuilder().setLongValue(w.index).build());
                        }
                        arrived.clear();
                        answer(reply, SharedCallResponse.newBuilder().setLongValue(index).build());
                        return null;
                    }
                    if (r.hasTimeoutMs() && r.getTimeoutMs() <= 0) {
                        breakWith(null);
                        throw timeoutStatus().asRuntimeException();
                    }
                    Waiter w = park(this, r, reply);
                    w.index = index;
                    arrived.add(w);
                    return w;
                }
                case BARRIER_RESET -> {
                    breakWith(null);
                    broken = false;
                    answer(reply, EMPTY);
                }
                case BARRIER_BROKEN -> answer(reply, flag(broken));
                default -> throw badOp(this, r);
            }
            return null;
        }

        private Status brokenStatus() {
            return Status.ABORTED.withDescription("the barrier '" + name + "' is broken");
        }

        /** Breaks the barrier: every waiter but {@code except} fails. */
        private void breakWith(Waiter except) {
            broken = true;
            for (Waiter w : arrived) {
                if (w != except) {
                    finish(w);
                    fail(w, brokenStatus());
                }
            }
            arrived.clear();
        }

        @Override
        List<Waiter> waiters() {
            return List.copyOf(arrived);
        }

        @Override
        void remove(Waiter w) {
            arrived.remove(w);
        }

        @Override
        void timedOut(Waiter w) {
            breakWith(w);
            fail(w, timeoutStatus());
        }

        private Status timeoutStatus() {
            return Status.DEADLINE_EXCEEDED.withDescription("the barrier '" + name + "' timed out and is now broken");
        }

        @Override
        void cancelled(Waiter w) {
            // A party that left (interrupted) cannot arrive any more, as with CyclicBarrier.
            breakWith(w);
        }
    }
}
