package io.cohort.coordinator.watch;

/** Where {@link ClusterView} hands timings (the metrics' histograms); called on the view's thread. */
public interface Samples {
    Samples NONE = new Samples() {
        @Override
        public void queueWait(long nanos) {
        }

        @Override
        public void runTime(long nanos) {
        }

        @Override
        public void journalCommit(long nanos) {
        }
    };

    /** From queued to sent to a worker. */
    void queueWait(long nanos);

    /** As the worker measured it. */
    void runTime(long nanos);

    void journalCommit(long nanos);
}
