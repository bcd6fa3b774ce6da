package io.cohort.coordinator.watch;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.cohort.common.metrics.Meters;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's meters, read from the {@link Recorder}'s counters and fed by the
 * {@link Watch}'s thread: never by the scheduler's. Labels are bounded (a state, a direction),
 * never a task or session id.
 */
public final class CoordinatorMetrics implements Samples {
    private final Timer queueWait;
    private final Timer runTime;
    private final Timer journalCommit;

    private CoordinatorMetrics(Timer queueWait, Timer runTime, Timer journalCommit) {
        this.queueWait = queueWait;
        this.runTime = runTime;
        this.journalCommit = journalCommit;
    }

    /** Registers the histograms; {@link #bind} adds the rest once the watch exists. */
    public static CoordinatorMetrics register(PrometheusMeterRegistry registry) {
        return new CoordinatorMetrics(
                Meters.timer(registry, "cohort.task.queue.wait", "time from queued to sent to a worker"),
                Meters.timer(registry, "cohort.task.run.time", "tasks' run time as their workers measured it"),
                Meters.timer(registry, "cohort.journal.write", "time to write one batch to the journal"));
    }

    /** The counters and levels of {@code recorder}, and the workers by state. */
    public static void bind(PrometheusMeterRegistry registry, Recorder recorder, Watch watch) {
        for (TaskCount c : TaskCount.values()) {
            String name = "cohort.tasks." + c.name().toLowerCase(java.util.Locale.ROOT).replace('_', '.');
            if (c.level()) {
                Gauge.builder(name, recorder, r -> r.get(c)).description(c.help).register(registry);
            } else {
                FunctionCounter.builder(name, recorder, r -> r.get(c)).description(c.help).register(registry);
            }
        }
        Gauge.builder("cohort.workers", watch, Watch::activeWorkers).description("workers attached, by state")
                .tag("state", "active").register(registry);
        Gauge.builder("cohort.workers", watch, Watch::drainingWorkers).description("workers attached, by state")
                .tag("state", "draining").register(registry);
        FunctionCounter.builder("cohort.workers.gone", watch, Watch::workersGone)
                .description("workers lost or drained away").register(registry);
    }

    @Override
    public void queueWait(long nanos) {
        queueWait.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void runTime(long nanos) {
        runTime.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void journalCommit(long nanos) {
        journalCommit.record(nanos, TimeUnit.NANOSECONDS);
    }
}
