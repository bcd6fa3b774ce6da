package io.cohort.coordinator.watch;

/** What {@link Recorder} counts exactly: totals since the coordinator started, and three levels. */
enum TaskCount {
    SUBMITTED("tasks accepted from clients (those refused at once included)"),
    STARTED("task attempts that began running on a worker"),
    SUCCEEDED("tasks that returned a value"),
    FAILED("tasks that threw"),
    WORKER_LOST("tasks that failed because their workers kept being lost"),
    RETRIED("task attempts run again after their worker was lost"),
    CANCELLED("tasks cancelled"),
    TIMED_OUT("tasks that ran past their timeout"),
    REJECTED("tasks refused (invalid, over a budget, or no worker could ever run them)"),
    QUEUED("tasks waiting for a worker"),
    ASSIGNED("tasks sent to a worker that has not started them"),
    RUNNING("tasks running on workers");

    final String help;

    TaskCount(String help) {
        this.help = help;
    }

    /** A level that goes up and down, rather than a total. */
    boolean level() {
        return this == QUEUED || this == ASSIGNED || this == RUNNING;
    }
}
