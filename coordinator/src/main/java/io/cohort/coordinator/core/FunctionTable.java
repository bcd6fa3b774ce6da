package io.cohort.coordinator.core;

import com.google.protobuf.ByteString;
import io.cohort.proto.v1.FunctionDef;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Function definitions someone holds (a session's at the coordinator, or what a worker was
 * sent), with how many live tasks use each. A definition no live task uses is idle; past
 * {@code maxIdle} idle ones, the longest idle are dropped. One in use is never dropped, so a
 * task always finds its function. Not thread-safe.
 */
final class FunctionTable {
    private static final class Entry {
        final FunctionDef def;
        int live;

        Entry(FunctionDef def) {
            this.def = def;
        }
    }

    private final int maxIdle;
    private final Map<ByteString, Entry> all = new HashMap<>();
    /** Idle entries, longest idle first. */
    private final LinkedHashMap<ByteString, Entry> idle = new LinkedHashMap<>();

    FunctionTable(int maxIdle) {
        if (maxIdle < 1) {
            throw new IllegalArgumentException("maxIdle must be at least 1, not " + maxIdle);
        }
        this.maxIdle = maxIdle;
    }

    FunctionDef get(ByteString digest) {
        Entry e = all.get(digest);
        return e == null ? null : e.def;
    }

    boolean contains(ByteString digest) {
        return all.containsKey(digest);
    }

    int size() {
        return all.size();
    }

    /**
     * Adds {@code def} unless held (true when added); idle ones beyond the cap go to
     * {@code dropped}, never {@code def} itself.
     */
    boolean define(FunctionDef def, Consumer<ByteString> dropped) {
        ByteString digest = def.getDigest();
        if (all.containsKey(digest)) {
            return false;
        }
        Entry e = new Entry(def);
        all.put(digest, e);
        idle.put(digest, e);
        for (Iterator<Map.Entry<ByteString, Entry>> it = idle.entrySet().iterator(); idle.size() > maxIdle && it.hasNext(); ) {
            Map.Entry<ByteString, Entry> oldest = it.next();
            if (oldest.getValue() != e) {
                it.remove();
                all.remove(oldest.getKey());
                dropped.accept(oldest.getKey());
            }
        }
        return true;
    }

    /** A live task uses the function (held). */
    void use(ByteString digest) {
        Entry e = all.get(digest);
        if (e != null && e.live++ == 0) {
            idle.remove(digest);
        }
    }

    /** A task that used it ended; idle ones beyond the cap go to {@code dropped}. */
    void release(ByteString digest, Consumer<ByteString> dropped) {
        Entry e = all.get(digest);
        if (e == null || e.live == 0 || --e.live > 0) {
            return;
        }
        idle.put(digest, e);
        if (idle.size() > maxIdle) {
            Iterator<Map.Entry<ByteString, Entry>> it = idle.entrySet().iterator();
            Map.Entry<ByteString, Entry> oldest = it.next();
            it.remove();
            all.remove(oldest.getKey());
            dropped.accept(oldest.getKey());
        }
    }

    /** Uses by live tasks, summed over every function (invariant checks). */
    long liveUses() {
        long n = 0;
        for (Entry e : all.values()) {
            n += e.live;
        }
        return n;
    }

    void clear() {
        all.clear();
        idle.clear();
    }
}
