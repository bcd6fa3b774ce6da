package io.cohort.client;

import io.cohort.common.TaskBody;
import java.io.Serializable;
import java.util.concurrent.Callable;

/** Adapts the user's task types to the {@link TaskBody} a worker runs. */
final class TaskBodies {
    private TaskBodies() {}

    static TaskBody of(Callable<?> task) {
        requireSerializable(task);
        return new CallableBody(task);
    }

    static TaskBody of(Runnable task) {
        requireSerializable(task);
        return new RunnableBody(task);
    }

    static TaskBody of(RemoteFunction<?, ?> fn) {
        requireSerializable(fn);
        return new FunctionBody(fn);
    }

    /** The user's task inside a body made here (its class names the application code it needs). */
    static Object userTask(TaskBody body) {
        if (body instanceof CallableBody b) {
            return b.task();
        }
        if (body instanceof RunnableBody b) {
            return b.task();
        }
        if (body instanceof FunctionBody b) {
            return b.fn();
        }
        return body;
    }

    /** Refuses a task that cannot travel, before anything is sent. */
    static void requireSerializable(Object task) {
        if (task == null) {
            throw new NullPointerException("task is null");
        }
        if (!(task instanceof Serializable)) {
            throw new IllegalArgumentException("task of class " + task.getClass().getName()
                    + " is not Serializable: use RemoteCallable, RemoteRunnable or RemoteFunction"
                    + " (lambdas typed so are serializable)");
        }
    }

    private record CallableBody(Callable<?> task) implements TaskBody {
        @Override
        public Object call(Object input) throws Exception {
            return task.call();
        }
    }

    private record RunnableBody(Runnable task) implements TaskBody {
        @Override
        public Object call(Object input) {
            task.run();
            return null;
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private record FunctionBody(RemoteFunction fn) implements TaskBody {
        @Override
        public Object call(Object input) throws Exception {
            return fn.apply(input);
        }
    }
}
