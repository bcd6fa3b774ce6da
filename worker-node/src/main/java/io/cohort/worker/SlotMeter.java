package io.cohort.worker;

import io.cohort.proto.v1.WorkerTaskResult;

/** Told when a slot begins a task and when it has its outcome, on the slot's thread; must be quick. */
public interface SlotMeter {
    SlotMeter NONE = new SlotMeter() {
        @Override
        public void began() {
        }

        @Override
        public void finished(WorkerTaskResult outcome) {
        }
    };

    void began();

    void finished(WorkerTaskResult outcome);
}
