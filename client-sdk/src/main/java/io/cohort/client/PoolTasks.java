package io.cohort.client;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The functions a pool's tasks carry to workers. Records, so that equal wrappers of one user
 * function are equal and the session ships each only once.
 */
final class PoolTasks {
    /** Per pool, the one run of its initializer in this JVM (a worker daemon or a child JVM). */
    private static final Map<String, FutureTask<Void>> INITIALIZERS = new ConcurrentHashMap<>();

    private PoolTasks() {}

    /** {@code fn}, after the pool's initializer has run once in the JVM that runs it. */
    record Initialized<A, R>(String poolId, RemoteRunnable initializer, RemoteFunction<A, R> fn)
            implements RemoteFunction<A, R> {
        private static final long serialVersionUID = 1L;

        @Override
        public R apply(A input) throws Exception {
            initializeOnce(poolId, initializer);
            return fn.apply(input);
        }
    }

    /** A two-argument function over (first, second) pairs, for starmap. */
    record Spread<A, B, R>(RemoteBiFunction<A, B, R> fn) implements RemoteFunction<Map.Entry<A, B>, R> {
        private static final long serialVersionUID = 1L;

        @Override
        public R apply(Map.Entry<A, B> pair) throws Exception {
            return fn.apply(pair.getKey(), pair.getValue());
        }
    }

    /**
     * Runs the initializer the first time a task of the pool runs in this JVM; concurrent first
     * tasks wait for that one run. A failed run fails every later task of the pool here too,
     * with the same cause, instead of retrying it forever.
     */
    static void initializeOnce(String poolId, RemoteRunnable initializer) {
        FutureTask<Void> run = INITIALIZERS.computeIfAbsent(poolId, id -> new FutureTask<>(initializer, null));
        run.run();   // a no-op once it has run, or while another thread runs it
        try {
            run.get();
        } catch (ExecutionException e) {
            throw new CohortException("the pool's initializer failed in this JVM (pid "
                    + ProcessHandle.current().pid() + "): " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CohortException("interrupted while the pool's initializer ran", e);
        }
    }
}
