package io.cohort.worker;

import io.cohort.proto.v1.TaskAssign;
import io.cohort.proto.v1.WorkerTaskResult;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledFuture;

/**
 * One task thread. Runs are handed to it through its inbox; a run started by the slot's own
 * thread (the next task after one finished) is taken from the inbox by the same thread, so
 * the hot path has no thread hand-off.
 *
 * <p>Interrupts are guarded by the run's identity: {@link #interrupt(long)} only interrupts
 * the thread while it runs that very run, and marks it so a run not yet begun is skipped.
 * The thread clears its interrupt status after every run, so no interrupt meant for one task
 * reaches the next.
 */
final class Slot implements Runnable {
    /** What a slot's thread reports. */
    interface Owner {
        void began(int slot, long runId);

        void finished(int slot, long runId, WorkerTaskResult outcome);

        WorkerTaskResult execute(TaskAssign assign);

        ClassLoader loader();
    }

    record Work(long runId, TaskAssign assign) {}

    private final int index;
    private final Owner owner;
    private final LinkedBlockingQueue<Work> inbox = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopped;
    private Work current;          // guarded by this
    private long abortedRun = -1;  // guarded by this
    private volatile ScheduledFuture<?> timer;   // the current run's timeout, set on this slot's thread

    Slot(int index, Owner owner, String threadPrefix) {
        this.index = index;
        this.owner = owner;
        this.thread = new Thread(this, threadPrefix + index);
        thread.setDaemon(true);
        thread.setContextClassLoader(owner.loader());
    }

    void start() {
        thread.start();
    }

    void submit(long runId, TaskAssign assign) {
        inbox.add(new Work(runId, assign));
    }

    void interrupt(long runId) {
        synchronized (this) {
            abortedRun = runId;
            if (current != null && current.runId() == runId) {
                thread.interrupt();
            }
        }
    }

    void timer(ScheduledFuture<?> timer) {
        this.timer = timer;
    }

    void stop() {
        stopped = true;
        thread.interrupt();
    }

    boolean isAlive() {
        return thread.isAlive();
    }

    @Override
    public void run() {
        while (!stopped) {
            Work work;
            try {
                work = inbox.take();
            } catch (InterruptedException e) {
                continue;   // stop() or a stray interrupt; the loop condition decides
            }
            boolean skip;
            synchronized (this) {
                current = work;
                skip = abortedRun == work.runId();
            }
            WorkerTaskResult outcome = null;
            try {
                if (!skip) {
                    owner.began(index, work.runId());
                    thread.setContextClassLoader(owner.loader());
                    outcome = owner.execute(work.assign());
                }
            } catch (Throwable e) {
                // execute() never throws; this is a bug in the shell, not the task's fault
                System.getLogger(Slot.class.getName()).log(System.Logger.Level.ERROR,
                        "slot " + index + " failed around run " + work.runId(), e);
            }
            ScheduledFuture<?> t = timer;
            if (t != null) {
                timer = null;
                t.cancel(false);
            }
            synchronized (this) {
                current = null;
            }
            Thread.interrupted();   // an interrupt meant for this run must not hit the next
            if (stopped) {
                return;
            }
            owner.finished(index, work.runId(), outcome);
        }
    }
}
