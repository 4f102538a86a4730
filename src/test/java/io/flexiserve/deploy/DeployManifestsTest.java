package io.flexiserve.deploy;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.flexiserve.finetune.FineTuningJob;
import io.flexiserve.finetune.Hyperparameters;
import io.flexiserve.finetune.JobRunner;
import io.flexiserve.finetune.JobStatus;
import io.flexiserve.finetune.k8s.KubernetesSettings;
import io.flexiserve.finetune.k8s.TrainerJobSpec;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * k8s/ parsed strictly into fabric8 model objects (every manifest, and both overlays as kubectl renders them when
 * kubectl is installed), then checked against the running service and the code: probes on real health paths,
 * the ServiceMonitor on the Service's port and /q/metrics, RBAC covering what the Kubernetes runner calls, and
 * the trainer Job template equal to what the runner creates.
 */
@QuarkusTest
class DeployManifestsTest {

    private static final Path K8S = Path.of("k8s");

    private static List<Path> manifestFiles() throws IOException {
        try (Stream<Path> files = Files.walk(K8S)) {
            return files.filter(p -> p.toString().endsWith(".yaml") && !p.getFileName().toString().equals("kustomization.yaml"))
                    .sorted().toList();
        }
    }

    @Test
    void everyManifestParsesWithNoUnknownField() throws IOException {
        List<Path> files = manifestFiles();
        assertTrue(files.size() >= 13, "manifests: " + files);
        List<String> problems = new ArrayList<>();
        for (Path file : files) {
            for (HasMetadata r : StrictManifests.parse(Files.readString(file))) {
                StrictManifests.unknownFields(r).forEach(f -> problems.add(file + ": " + f));
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void theWalkerCatchesAMisspeltField() {
        String bad = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - name: http\n      prot: 80\n";
        assertEquals(List.of("Service/x.spec.ports[0].prot"), StrictManifests.unknownFields(StrictManifests.parse(bad).get(0)));
    }

    static List<HasMetadata> render(String overlay) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("kubectl", "kustomize", K8S.resolve("overlays").resolve(overlay).toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "kubectl is not installed: " + e.getMessage());
            return List.of();
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return StrictManifests.parse(out);
    }

    static <T extends HasMetadata> List<T> all(List<HasMetadata> resources, Class<T> type) {
        return resources.stream().filter(type::isInstance).map(type::cast).toList();
    }

    static <T extends HasMetadata> T one(List<HasMetadata> resources, Class<T> type) {
        List<T> found = all(resources, type);
        assertEquals(1, found.size(), type.getSimpleName() + "s: " + found.size());
        return found.get(0);
    }

    static GenericKubernetesResource custom(List<HasMetadata> resources, String kind) {
        return all(resources, GenericKubernetesResource.class).stream().filter(r -> r.getKind().equals(kind)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind));
    }

    static String env(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst().orElse(null);
    }

    @Test
    void renderedOverlaysAreStrictAndWiredTogether() throws Exception {
        for (String overlay : List.of("gpu", "cpu-demo")) {
            List<HasMetadata> resources = render(overlay);
            List<String> problems = new ArrayList<>();
            resources.forEach(r -> problems.addAll(StrictManifests.unknownFields(r)));
            assertEquals(List.of(), problems, overlay);

            Deployment deployment = one(resources, Deployment.class);
            PodSpec pod = deployment.getSpec().getTemplate().getSpec();
            Container server = pod.getContainers().get(0);
            // probes on the health paths the service really answers
            for (Probe probe : List.of(server.getStartupProbe(), server.getReadinessProbe(), server.getLivenessProbe())) {
                String path = probe.getHttpGet().getPath();
                assertTrue(path.startsWith("/q/health/"), path);
                assertNotEquals(404, given().get(path).statusCode(), path + " is not served");
                assertEquals("http", probe.getHttpGet().getPort().getStrVal());
            }
            Probe startup = server.getStartupProbe();
            assertTrue(startup.getPeriodSeconds() * startup.getFailureThreshold() >= 600, "startup budget for 16 GB of weights");
            assertTrue(deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() > 31,
                    "grace above shutdown delay + timeout");
            // restricted security context everywhere
            assertTrue(pod.getSecurityContext().getRunAsNonRoot());
            assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType());
            for (Container c : Stream.concat(pod.getContainers().stream(), pod.getInitContainers().stream()).toList()) {
                assertFalse(c.getSecurityContext().getAllowPrivilegeEscalation(), c.getName());
                assertTrue(c.getSecurityContext().getReadOnlyRootFilesystem(), c.getName());
                assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop(), c.getName());
                assertTrue(c.getResources().getRequests() != null && !c.getResources().getRequests().isEmpty(), c.getName());
            }
            // the Service exposes the container port; the ServiceMonitor scrapes it at /q/metrics
            Service service = one(resources, Service.class);
            assertEquals("http", service.getSpec().getPorts().get(0).getName());
            assertEquals(server.getPorts().get(0).getName(), service.getSpec().getPorts().get(0).getTargetPort().getStrVal());
            assertTrue(deployment.getSpec().getTemplate().getMetadata().getLabels().entrySet()
                    .containsAll(service.getSpec().getSelector().entrySet()), "the Service selects the pods");
            GenericKubernetesResource monitor = custom(resources, "ServiceMonitor");
            Map<String, Object> endpoint = ((List<Map<String, Object>>) ((Map<String, Object>) monitor.getAdditionalProperties()
                    .get("spec")).get("endpoints")).get(0);
            assertEquals("http", endpoint.get("port"));
            assertEquals("/q/metrics", endpoint.get("path"));
            assertEquals(200, given().get((String) endpoint.get("path")).statusCode());
            Map<String, String> monitorSelector = (Map<String, String>) ((Map<String, Object>) ((Map<String, Object>) monitor
                    .getAdditionalProperties().get("spec")).get("selector")).get("matchLabels");
            assertTrue(service.getMetadata().getLabels().entrySet().containsAll(monitorSelector.entrySet()));
            // KEDA scales this Deployment on a metric the service exports (once its model is served)
            io.flexiserve.api.TestSupport.awaitReady();
            Map<String, Object> scaled = (Map<String, Object>) custom(resources, "ScaledObject").getAdditionalProperties().get("spec");
            assertEquals(deployment.getMetadata().getName(), ((Map<String, Object>) scaled.get("scaleTargetRef")).get("name"));
            String query = (String) ((Map<String, Object>) ((List<Map<String, Object>>) scaled.get("triggers")).get(0).get("metadata")).get("query");
            assertTrue(query.contains("flexiserve_requests_waiting") && given().get("/q/metrics").asString()
                    .contains("flexiserve_requests_waiting{"), query);
            // the dashboard ConfigMap holds the one dashboard file
            ConfigMap dashboard = all(resources, ConfigMap.class).stream()
                    .filter(c -> "1".equals(c.getMetadata().getLabels().get("grafana_dashboard"))).findFirst().orElseThrow();
            assertEquals(Files.readString(Path.of("dashboards/flexiserve.json")), dashboard.getData().get("flexiserve-dashboard.json"));
            assertEquals(deployment.getMetadata().getNamespace(), service.getMetadata().getNamespace());
            checkRbacAndTrainerJob(resources, pod, server, overlay);
        }
    }

    private void checkRbacAndTrainerJob(List<HasMetadata> resources, PodSpec pod, Container server, String overlay) throws IOException {
        Role role = one(resources, Role.class);
        RoleBinding binding = one(resources, RoleBinding.class);
        assertEquals(role.getMetadata().getName(), binding.getRoleRef().getName());
        assertEquals(pod.getServiceAccountName(), binding.getSubjects().get(0).getName());
        // what KubernetesRunner calls: jobs create/get/delete, pods list, pods/log get
        for (String[] call : new String[][] {{"batch", "jobs", "create"}, {"batch", "jobs", "get"}, {"batch", "jobs", "delete"},
                {"", "pods", "list"}, {"", "pods/log", "get"}}) {
            assertTrue(role.getRules().stream().anyMatch(r -> allows(r, call)), overlay + ": the Role must allow " + String.join(" ", call));
        }
        Set<String> accounts = all(resources, ServiceAccount.class).stream().map(a -> a.getMetadata().getName()).collect(Collectors.toSet());
        Set<String> claims = all(resources, PersistentVolumeClaim.class).stream().map(c -> c.getMetadata().getName())
                .collect(Collectors.toSet());
        KubernetesSettings settings = new KubernetesSettings(Optional.empty(),
                Optional.ofNullable(env(server, "FLEXISERVE_FINETUNE_KUBERNETES_IMAGE")).orElse("ghcr.io/flexiserve/flexiserve:cuda"),
                env(server, "FLEXISERVE_FINETUNE_KUBERNETES_DATA_CLAIM"), env(server, "FLEXISERVE_FINETUNE_KUBERNETES_DATA_MOUNT_PATH"),
                Optional.ofNullable(env(server, "FLEXISERVE_FINETUNE_KUBERNETES_MODEL_CLAIM")),
                env(server, "FLEXISERVE_FINETUNE_KUBERNETES_MODEL_MOUNT_PATH"),
                env(server, "FLEXISERVE_FINETUNE_KUBERNETES_SERVICE_ACCOUNT"), 1,
                Optional.ofNullable(env(server, "FLEXISERVE_FINETUNE_KUBERNETES_MEMORY")).orElse("16Gi"), 86400, 5,
                Optional.empty());
        assertTrue(accounts.contains(settings.serviceAccount()), "trainer ServiceAccount " + settings.serviceAccount());
        assertTrue(claims.contains(settings.dataClaim()) && claims.contains(settings.modelClaim().orElseThrow()), claims.toString());
        assertEquals(env(server, "FLEXISERVE_DATA_DIR"), settings.dataMountPath(), "the data dir is on the shared claim");
        Job created = TrainerJobSpec.build(new JobRunner.Assignment(job(), Path.of("/models/m"), null, Path.of("/data/files/f.jsonl"),
                Path.of("/data/fine_tuning/jobs/ftjob-0123456789abcdef01234567/work"), false), settings);
        Job template = (Job) StrictManifests.parse(Files.readString(K8S.resolve("base/trainer-job-template.yaml"))).get(0);
        assertEquals(template.getMetadata().getLabels().keySet(), created.getMetadata().getLabels().keySet());
        assertEquals(template.getSpec().getBackoffLimit(), created.getSpec().getBackoffLimit());
        assertEquals(template.getSpec().getTtlSecondsAfterFinished(), created.getSpec().getTtlSecondsAfterFinished());
        assertEquals(template.getSpec().getPodFailurePolicy(), created.getSpec().getPodFailurePolicy());
        PodSpec want = template.getSpec().getTemplate().getSpec();
        PodSpec got = created.getSpec().getTemplate().getSpec();
        assertEquals(want.getRestartPolicy(), got.getRestartPolicy());
        assertEquals(want.getServiceAccountName(), got.getServiceAccountName());
        assertEquals(want.getSecurityContext(), got.getSecurityContext());
        assertEquals(want.getVolumes(), got.getVolumes());
        Container wantC = want.getContainers().get(0);
        Container gotC = got.getContainers().get(0);
        assertEquals(wantC.getImage(), gotC.getImage());
        assertEquals(wantC.getEnv(), gotC.getEnv());
        assertEquals(wantC.getSecurityContext(), gotC.getSecurityContext());
        assertEquals(wantC.getVolumeMounts(), gotC.getVolumeMounts());
        assertEquals(wantC.getResources().getLimits(), gotC.getResources().getLimits());
        assertEquals(wantC.getArgs().stream().filter(a -> a.startsWith("--")).toList(),
                gotC.getArgs().stream().filter(a -> a.startsWith("--")).toList());
    }

    private static boolean allows(PolicyRule rule, String[] call) {
        return rule.getApiGroups().contains(call[0]) && rule.getResources().contains(call[1]) && rule.getVerbs().contains(call[2]);
    }

    private static FineTuningJob job() {
        Hyperparameters hp = new Hyperparameters("alignment", 1e-4, 1e-4, 1, 4, 8, 2048, 0.03, 0, 1, 50, 42, List.of());
        return new FineTuningJob("ftjob-0123456789abcdef01234567", 0, "m", "file-0", null, hp, JobStatus.QUEUED, null, null,
                null, null, null, null, "kubernetes", Map.of(), false);
    }
}
