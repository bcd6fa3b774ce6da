package io.cohort.deploy;

import static io.cohort.deploy.Trees.list;
import static io.cohort.deploy.Trees.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every manifest in deploy/k8s parses, and the objects agree with each other: selectors match the
 * pods they select, the Service, probes and NetworkPolicy name the coordinator's container port,
 * workers dial the Service, every Cohort container runs the image the build makes, tokens come from
 * the one Secret the README creates, and a worker's grace period outlasts its drain timeout.
 */
class KubernetesManifestsTest {
    private static final Path K8S = Release.DEPLOY.resolve("k8s");
    private static final String SECRET = "cohort-tokens";
    private static final List<Map<String, Object>> OBJECTS = new ArrayList<>();

    @BeforeAll
    static void parseEveryManifest() throws IOException {
        try (Stream<Path> files = Files.list(K8S)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                var yaml = Trees.parser();
                for (Object doc : yaml.loadAll(Files.readString(file))) {
                    Map<String, Object> object = map(doc);
                    for (String key : List.of("apiVersion", "kind", "metadata")) {
                        assertNotNull(object.get(key), file + ": an object without " + key);
                    }
                    OBJECTS.add(object);
                }
            }
        }
        assertEquals(Set.of("Service", "StatefulSet", "Deployment", "NetworkPolicy"),
                OBJECTS.stream().map(o -> (String) o.get("kind")).collect(Collectors.toSet()));
    }

    @Test
    void selectorsMatchThePodsTheySelect() {
        for (Map<String, Object> workload : List.of(one("StatefulSet"), one("Deployment"))) {
            assertSubset(map(map(spec(workload).get("selector")).get("matchLabels")), podLabels(workload), name(workload));
        }
        assertSubset(map(spec(one("Service")).get("selector")), podLabels(one("StatefulSet")), "the Service");
        assertEquals(name(one("Service")), spec(one("StatefulSet")).get("serviceName"));
        Map<String, Object> policy = spec(one("NetworkPolicy"));
        assertSubset(map(map(policy.get("podSelector")).get("matchLabels")), podLabels(one("StatefulSet")), "the policy");
        Map<String, Object> from = map(list(map(list(policy.get("ingress")).get(0)).get("from")).get(0));
        assertSubset(map(map(from.get("podSelector")).get("matchLabels")), podLabels(one("Deployment")), "the policy's workers");
    }

    @Test
    void servicePortsProbesAndWorkersAgreeOnTheCoordinatorsPort() {
        Map<String, Object> coordinator = container(one("StatefulSet"));
        Map<String, Object> port = map(list(coordinator.get("ports")).get(0));
        int containerPort = (Integer) port.get("containerPort");
        assertEquals(String.valueOf(containerPort), flag(coordinator, "--port"));

        Map<String, Object> servicePort = map(list(spec(one("Service")).get("ports")).get(0));
        assertEquals(port.get("name"), servicePort.get("targetPort"));
        for (String probe : List.of("readinessProbe", "livenessProbe")) {
            assertEquals(containerPort, map(map(coordinator.get(probe)).get("grpc")).get("port"),
                    probe + " asks the gRPC health service on the API port");
        }
        Map<String, Object> policyPort = map(list(map(list(spec(one("NetworkPolicy")).get("ingress")).get(0)).get("ports")).get(0));
        assertEquals(containerPort, policyPort.get("port"));
        assertEquals(name(one("Service")) + ":" + servicePort.get("port"), flag(container(one("Deployment")), "--coordinator"));
    }

    @Test
    void everyCohortContainerRunsTheImageTheBuildMakes() {
        String image = System.getProperty("cohort.image");
        assertNotNull(image, "the build passes the image's name (cohort.image)");
        for (Map<String, Object> workload : List.of(one("StatefulSet"), one("Deployment"))) {
            assertEquals(image, container(workload).get("image"), name(workload));
            assertEquals(Boolean.TRUE, map(podSpec(workload).get("securityContext")).get("runAsNonRoot"), name(workload));
        }
    }

    @Test
    void tokensComeFromTheOneSecretTheReadmeCreates() throws IOException {
        String readme = Files.readString(Release.DEPLOY.resolveSibling("README.md"));
        assertTrue(readme.contains("kubectl create secret generic " + SECRET), "README creates " + SECRET);
        for (Map<String, Object> workload : List.of(one("StatefulSet"), one("Deployment"))) {
            Map<String, Object> pod = podSpec(workload);
            Map<String, Object> secretVolume = list(pod.get("volumes")).stream().map(Trees::map)
                    .filter(v -> v.containsKey("secret")).findFirst().orElseThrow();
            assertEquals(SECRET, map(secretVolume.get("secret")).get("secretName"));
            Set<String> keys = list(map(secretVolume.get("secret")).get("items")).stream()
                    .map(i -> (String) map(i).get("key")).collect(Collectors.toSet());
            // The init container copies the Secret's files into the volume the daemon reads them from.
            Map<String, Object> init = map(list(pod.get("initContainers")).get(0));
            String tokensDir = mountPath(init, "tokens");
            assertEquals(mountPath(init, (String) secretVolume.get("name")), "/secret");
            assertEquals(tokensDir, mountPath(container(workload), "tokens"));
            Map<String, Object> daemon = container(workload);
            List<String> tokenFlags = args(daemon).stream().filter(a -> a.endsWith("token-file")).toList();
            assertFalse(tokenFlags.isEmpty(), name(workload));
            for (String f : tokenFlags) {
                Path file = Path.of(flag(daemon, f));
                assertEquals(Path.of(tokensDir), file.getParent(), f);
                assertTrue(keys.contains(file.getFileName().toString()), f + " is a key of " + SECRET + ": " + keys);
                assertTrue(readme.contains("--from-file=" + file.getFileName() + "="), "README puts " + file.getFileName());
            }
        }
    }

    @Test
    void theJournalIsOnTheStatefulSetsVolumeAndWorkersOutlastTheirDrain() {
        Map<String, Object> coordinator = container(one("StatefulSet"));
        String claim = (String) map(map(list(spec(one("StatefulSet")).get("volumeClaimTemplates")).get(0)).get("metadata")).get("name");
        assertEquals(flag(coordinator, "--state-dir"), mountPath(coordinator, claim));

        Map<String, Object> worker = one("Deployment");
        Duration drain = Duration.parse("PT" + flag(container(worker), "--drain-timeout").toUpperCase());
        int grace = (Integer) podSpec(worker).get("terminationGracePeriodSeconds");
        assertTrue(grace > drain.toSeconds(), "grace " + grace + " s must outlast the drain " + drain);
    }

    private static Map<String, Object> one(String kind) {
        List<Map<String, Object>> found = OBJECTS.stream().filter(o -> kind.equals(o.get("kind"))).toList();
        assertEquals(1, found.size(), kind);
        return found.get(0);
    }

    private static String name(Map<String, Object> object) {
        return (String) map(object.get("metadata")).get("name");
    }

    private static Map<String, Object> spec(Map<String, Object> object) {
        return map(object.get("spec"));
    }

    private static Map<String, Object> podSpec(Map<String, Object> workload) {
        return map(map(spec(workload).get("template")).get("spec"));
    }

    private static Map<String, Object> podLabels(Map<String, Object> workload) {
        return map(map(map(spec(workload).get("template")).get("metadata")).get("labels"));
    }

    private static Map<String, Object> container(Map<String, Object> workload) {
        List<Object> containers = list(podSpec(workload).get("containers"));
        assertEquals(1, containers.size(), name(workload));
        return map(containers.get(0));
    }

    private static List<String> args(Map<String, Object> container) {
        return list(container.get("args")).stream().map(String::valueOf).toList();
    }

    private static String flag(Map<String, Object> container, String flag) {
        List<String> args = args(container);
        int at = args.indexOf(flag);
        assertTrue(at >= 0 && at + 1 < args.size(), "no " + flag + " in " + args);
        return args.get(at + 1);
    }

    private static String mountPath(Map<String, Object> container, String volume) {
        return list(container.get("volumeMounts")).stream().map(Trees::map)
                .filter(m -> volume.equals(m.get("name"))).map(m -> (String) m.get("mountPath"))
                .findFirst().orElseThrow(() -> new AssertionError(container.get("name") + " mounts no " + volume));
    }

    private static void assertSubset(Map<String, Object> selector, Map<String, Object> labels, String what) {
        assertFalse(selector.isEmpty(), what + " selects nothing");
        selector.forEach((k, v) -> assertEquals(v, labels.get(k), what + " selects " + k + "=" + v + ", pods have " + labels));
    }
}
