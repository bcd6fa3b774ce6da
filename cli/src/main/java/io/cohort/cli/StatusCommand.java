package io.cohort.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.cohort.proto.v1.StatusRequest;
import io.cohort.proto.v1.StatusResponse;
import io.cohort.proto.v1.WorkerStatus;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code cohort status [--json]}: the cluster as the coordinator sees it, as a table or as JSON. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows the coordinator's workers (id, host, pid, slots, busy, resources, labels, state,"
                + " heartbeat age), its queue, its running, completed, failed and retried tasks, and tasks/s"
                + " over the last minute. Exit status: 0 ok, 2 usage, 3 cannot connect, 4 permission denied.")
public final class StatusCommand implements Callable<Integer> {
    @Mixin
    Connection connection;

    @Option(names = "--json", description = "Print one JSON object (snake_case keys) instead of a table.")
    boolean json;

    @Spec
    CommandSpec spec;

    /** The JSON shape: stable names, numbers as numbers. */
    record Cluster(String coordinator, long queued, long running, long completed, long failed, long retried,
                   double tasksPerSecond, List<Worker> workers) {
    }

    record Worker(String id, String state, String host, long pid, int slots, int busy,
                  Map<String, Double> resources, List<String> labels, long heartbeatAgeMs) {
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    @Override
    public Integer call() {
        return connection.call(spec, admin -> {
            Cluster cluster = view(connection.target(), admin.status(StatusRequest.getDefaultInstance()));
            PrintWriter out = spec.commandLine().getOut();
            out.println(json ? toJson(cluster) : table(cluster));
            out.flush();
            return ExitCodes.OK;
        });
    }

    static Cluster view(String coordinator, StatusResponse s) {
        List<Worker> workers = s.getWorkersList().stream().map(StatusCommand::worker).toList();
        return new Cluster(coordinator, s.getQueuedTasks(), s.getRunningTasks(), s.getCompletedTasks(),
                s.getFailedTasks(), s.getRetriedTasks(), s.getTasksPerSecond(), workers);
    }

    private static Worker worker(WorkerStatus w) {
        return new Worker(w.getId(), w.getState().name(), w.getHost(), w.getPid(), w.getSlots(), w.getBusySlots(),
                new TreeMap<>(w.getResourcesMap()), w.getLabelsList(), w.getHeartbeatAgeMs());
    }

    static String toJson(Cluster cluster) {
        try {
            return JSON.writeValueAsString(cluster);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the status as JSON", e);
        }
    }

    static String table(Cluster c) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "coordinator %s: %d workers, %d queued, %d running, %d completed"
                        + " (%d failed), %d retried, %.1f tasks/s over the last minute%n", c.coordinator(),
                c.workers().size(), c.queued(), c.running(), c.completed(), c.failed(), c.retried(), c.tasksPerSecond()));
        String row = "%-12s %-9s %-20s %8s %5s %5s %10s  %-24s %s%n";
        b.append(String.format(Locale.ROOT, row, "ID", "STATE", "HOST", "PID", "SLOTS", "BUSY", "HEARTBEAT",
                "RESOURCES", "LABELS"));
        for (Worker w : c.workers()) {
            StringBuilder resources = new StringBuilder();
            w.resources().forEach((k, v) -> resources.append(resources.length() == 0 ? "" : ",").append(k).append('=')
                    .append(v == Math.rint(v) ? String.valueOf(v.longValue()) : String.valueOf(v)));
            b.append(String.format(Locale.ROOT, row, w.id(), w.state(), w.host(), w.pid(), w.slots(), w.busy(),
                    String.format(Locale.ROOT, "%.1fs", w.heartbeatAgeMs() / 1000.0), resources,
                    String.join(",", w.labels())));
        }
        return b.toString().stripTrailing();
    }
}
