package io.flexiserve.admin;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.flexiserve.DemoModel;
import io.flexiserve.finetune.k8s.TrainerJobSpec;
import io.flexiserve.model.RouterWeights;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.restassured.http.ContentType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes runner against Quarkus' Kubernetes test server (CRUD mode): the Job it creates, the status
 * transitions the test writes as Kubernetes would, and cancel deleting the Job.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
@TestProfile(KubernetesRunnerTest.Runner.class)
class KubernetesRunnerTest {

    /** The kubernetes runner, polling every second. */
    public static class Runner implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("flexiserve.finetune.runner", "kubernetes", "flexiserve.finetune.kubernetes.poll-seconds", "1",
                    "flexiserve.finetune.kubernetes.image", "registry.example/flexiserve:cuda-test",
                    "flexiserve.finetune.kubernetes.gpus", "2", "flexiserve.finetune.kubernetes.namespace", "ml",
                    "flexiserve.finetune.serve-results", "true");
        }
    }

    @KubernetesTestServer
    KubernetesServer server;

    @BeforeEach
    void ready() {
        io.flexiserve.api.TestSupport.awaitReady();
    }

    private static io.restassured.specification.RequestSpecification admin() {
        return given().header("Authorization", "Bearer " + FineTuningApiTest.TOKEN);
    }

    private String createJob() {
        String file = admin().multiPart("purpose", "fine-tune")
                .multiPart("file", "train.jsonl", FineTuningApiTest.conversations(4).getBytes()).post("/admin/v1/files")
                .then().statusCode(200).extract().path("id");
        return admin().contentType(ContentType.JSON).body("{\"model\":\"flexidepth-demo\",\"training_file\":\"" + file
                + "\",\"hyperparameters\":{\"n_epochs\":2}}").post("/admin/v1/fine_tuning/jobs").then().statusCode(200)
                .extract().path("id");
    }

    private static String status(String id) {
        return admin().get("/admin/v1/fine_tuning/jobs/" + id).then().statusCode(200).extract().path("status");
    }

    private static <T> T await(Supplier<T> value, java.util.function.Predicate<T> done, String what) {
        long deadline = System.nanoTime() + 60_000_000_000L;
        T v;
        while (!done.test(v = value.get())) {
            assertTrue(System.nanoTime() < deadline, what + ", last seen " + v);
            FineTuningApiTest.sleep(100);
        }
        return v;
    }

    private Job trainerJob(KubernetesClient client, String id) {
        return await(() -> client.batch().v1().jobs().inNamespace("ml").withName(TrainerJobSpec.name(id)).get(),
                j -> j != null, "trainer Job of " + id);
    }

    private void writeStatus(KubernetesClient client, Job job, io.fabric8.kubernetes.api.model.batch.v1.JobStatus status) {
        job.setStatus(status);
        client.batch().v1().jobs().inNamespace("ml").resource(job).updateStatus();
    }

    @Test
    void aJobBecomesATrainerJobAndFollowsItsStatusToSuccess() throws Exception {
        KubernetesClient client = server.getClient();
        String id = createJob();
        Job job = trainerJob(client, id);
        assertEquals("queued", status(id), "no pod yet");

        assertEquals(Map.of("app.kubernetes.io/name", "flexiserve", "app.kubernetes.io/component", "trainer",
                TrainerJobSpec.JOB_ID_LABEL, id), job.getMetadata().getLabels());
        assertEquals(2, job.getSpec().getBackoffLimit());
        var failJob = job.getSpec().getPodFailurePolicy().getRules().get(0);
        assertEquals("FailJob", failJob.getAction(), "a job the trainer refuses is not retried");
        assertEquals(List.of(TrainerJobSpec.EXIT_INVALID), failJob.getOnExitCodes().getValues());
        assertEquals(86400, job.getSpec().getTtlSecondsAfterFinished());
        PodSpec pod = job.getSpec().getTemplate().getSpec();
        assertEquals("flexiserve-trainer", pod.getServiceAccountName());
        assertEquals("Never", pod.getRestartPolicy());
        assertTrue(pod.getSecurityContext().getRunAsNonRoot());
        Container c = pod.getContainers().get(0);
        assertEquals("registry.example/flexiserve:cuda-test", c.getImage());
        assertEquals("2", c.getResources().getLimits().get("nvidia.com/gpu").getAmount());
        assertEquals("train", c.getArgs().get(0));
        List<String> args = c.getArgs();
        Path workDir = Path.of(args.get(args.indexOf("--work-dir") + 1));
        assertTrue(workDir.endsWith(Path.of(id, "work")), workDir.toString());
        assertTrue(args.get(args.indexOf("--hyperparameters") + 1).contains("\"epochs\":2"), args.toString());
        assertEquals("gpu", args.get(args.indexOf("--device") + 1));
        assertEquals("flexiserve-data", pod.getVolumes().stream().filter(v -> v.getName().equals("data")).findFirst()
                .orElseThrow().getPersistentVolumeClaim().getClaimName());
        assertEquals("/data", c.getVolumeMounts().stream().filter(m -> m.getName().equals("data")).findFirst().orElseThrow()
                .getMountPath());

        writeStatus(client, job, new JobStatusBuilder().withActive(1).build());
        await(() -> status(id), "running"::equals, "running once a pod is active");

        // the trainer pod would leave its router set on the shared volume; this one is the demo model's own
        Path demo = Files.createTempDirectory("demo");
        DemoModel.write(demo);
        Path output = workDir.resolve("output");
        Files.createDirectories(output);
        try (var manager = ai.djl.ndarray.NDManager.newBaseManager(); RouterWeights w = RouterWeights.fromCheckpoint(demo, manager)) {
            w.write(output.resolve(RouterWeights.FILE));
            w.config().write(output);
        }
        writeStatus(client, trainerJob(client, id), new JobStatusBuilder().withActive(0).withSucceeded(1).build());
        await(() -> status(id), "succeeded"::equals, "succeeded after the Job did");
        String model = admin().get("/admin/v1/fine_tuning/jobs/" + id).then().extract().path("fine_tuned_model");
        given().get("/v1/models").then().statusCode(200).body("data.id", org.hamcrest.Matchers.hasItem(model));
    }

    @Test
    void aFailedJobFailsWithItsReason() {
        KubernetesClient client = server.getClient();
        String id = createJob();
        Job job = trainerJob(client, id);
        writeStatus(client, job, new JobStatusBuilder().withFailed(3).withConditions(new JobConditionBuilder()
                .withType("Failed").withStatus("True").withReason("BackoffLimitExceeded")
                .withMessage("Job has reached the specified backoff limit").build()).build());
        await(() -> status(id), "failed"::equals, "failed after the Job did");
        admin().get("/admin/v1/fine_tuning/jobs/" + id).then().body("error.code", org.hamcrest.Matchers.equalTo("training_error"))
                .body("error.message", org.hamcrest.Matchers.containsString("BackoffLimitExceeded"))
                .body("resumable", org.hamcrest.Matchers.equalTo(true));

        // resumed, it gets a new trainer Job (the failed one stays until its TTL, which would fail it again at once)
        admin().post("/admin/v1/fine_tuning/jobs/" + id + "/resume").then().statusCode(200);
        await(() -> trainerJob(client, id), j -> j.getStatus() == null || j.getStatus().getConditions() == null
                || j.getStatus().getConditions().isEmpty(), "a fresh trainer Job in place of the failed one");
        assertEquals("queued", status(id), "followed, not failed again");
    }

    /** The trainer wrote its output, then its Job was removed by its TTL while the service was down. */
    @Test
    void aJobWhoseFinishedTrainerIsGoneSucceedsFromItsOutput() throws Exception {
        KubernetesClient client = server.getClient();
        String id = createJob();
        Job job = trainerJob(client, id);
        List<String> args = job.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
        Path output = Path.of(args.get(args.indexOf("--work-dir") + 1)).resolve("output");
        Path demo = Files.createTempDirectory("demo");
        DemoModel.write(demo);
        Files.createDirectories(output);
        try (var manager = ai.djl.ndarray.NDManager.newBaseManager(); RouterWeights w = RouterWeights.fromCheckpoint(demo, manager)) {
            w.write(output.resolve(RouterWeights.FILE));
            w.config().write(output);
        }
        client.batch().v1().jobs().inNamespace("ml").withName(TrainerJobSpec.name(id)).delete();
        await(() -> status(id), "succeeded"::equals, "succeeded from the output the trainer left");
    }

    /** The trainer's own last word (here: its data is refused) is in the job's error, not only the Job's reason. */
    @Test
    void aFailedTrainerSaysWhyInTheJobsError() {
        KubernetesClient client = server.getClient();
        String id = createJob();
        Job job = trainerJob(client, id);
        String pod = "trainer-said-" + id;
        client.pods().inNamespace("ml").resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata()
                .withName(pod).withLabels(Map.of(TrainerJobSpec.JOB_ID_LABEL, id)).endMetadata()
                .withNewStatus().withPhase("Failed").endStatus().build()).create();
        server.expect().get().withPath("/api/v1/namespaces/ml/pods/" + pod + "/log?pretty=false")
                .andReturn(200, "{\"flexiserve\":\"trainer\",\"event\":\"failed\",\"detail\":\"routing layer 9 is "
                        + "not a layer of this model\"}\n").always();
        writeStatus(client, job, new JobStatusBuilder().withFailed(1).withConditions(new JobConditionBuilder()
                .withType("Failed").withStatus("True").withReason("PodFailurePolicy").build()).build());
        await(() -> status(id), "failed"::equals, "failed after the Job did");
        admin().get("/admin/v1/fine_tuning/jobs/" + id).then()
                .body("error.message", org.hamcrest.Matchers.containsString("PodFailurePolicy"))
                .body("error.message", org.hamcrest.Matchers.containsString("routing layer 9 is not a layer"));
    }

    /**
     * After a restart, a job followed again whose trainer finished and whose Job its TTL removed while the service was
     * down succeeds from the output the trainer left, instead of training again.
     */
    @Test
    void aJobWhoseTrainerFinishedWhileTheServiceWasDownSucceedsAtItsRestart() throws Exception {
        Path work = Files.createTempDirectory("ttl-gone").resolve("work");
        Files.createDirectories(work.resolve("output"));
        var hp = new io.flexiserve.finetune.Hyperparameters("alignment", 1e-4, 1e-4, 1, 4, 8, 2048, 0.03, 0, 1, 50, 42,
                List.of());
        var job = new io.flexiserve.finetune.FineTuningJob("ftjob-00000000000000000000ttl0", 0, "m", "file-0", null, hp,
                io.flexiserve.finetune.JobStatus.QUEUED, null, null, null, null, null, null, "kubernetes", Map.of(), false);
        var settings = new io.flexiserve.finetune.k8s.KubernetesSettings(java.util.Optional.of("ml"), "image", "data", "/data",
                java.util.Optional.empty(), "/models", "trainer", 0, "16Gi", 86400, 1, java.util.Optional.empty());
        Recorded reports = new Recorded();
        try (var runner = new io.flexiserve.finetune.k8s.KubernetesRunner(server.getClient(), settings)) {
            runner.submit(new io.flexiserve.finetune.JobRunner.Assignment(job, Path.of("/models/m"), null,
                    Path.of("/data/files/f.jsonl"), work, false), reports);
        }
        assertEquals(List.of(work.resolve("output")), reports.succeeded);
        assertNull(server.getClient().batch().v1().jobs().inNamespace("ml")
                .withName(TrainerJobSpec.name(job.id())).get(), "no trainer created again");
    }

    /** Trainer pods run where the service's own pod may: its tolerations (a GPU node's taint) and node selector. */
    @Test
    void aTrainerPodCopiesTheServicePodsTolerationsAndNodeSelector() throws Exception {
        KubernetesClient client = server.getClient();
        client.pods().inNamespace("ml").resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata()
                .withName("flexiserve-7d9f").endMetadata().withNewSpec().addNewToleration().withKey("nvidia.com/gpu")
                .withOperator("Exists").withEffect("NoSchedule").endToleration()
                .withNodeSelector(Map.of("accelerator", "h100")).endSpec().build()).create();
        var settings = new io.flexiserve.finetune.k8s.KubernetesSettings(java.util.Optional.of("ml"), "image", "data", "/data",
                java.util.Optional.empty(), "/models", "trainer", 1, "32Gi", 86400, 1, java.util.Optional.of("flexiserve-7d9f"));
        Path work = Files.createTempDirectory("placed").resolve("work");
        var hp = new io.flexiserve.finetune.Hyperparameters("alignment", 1e-4, 1e-4, 1, 4, 8, 2048, 0.03, 0, 1, 50, 42,
                List.of());
        var job = new io.flexiserve.finetune.FineTuningJob("ftjob-00000000000000000000plc0", 0, "m", "file-0", null, hp,
                io.flexiserve.finetune.JobStatus.QUEUED, null, null, null, null, null, null, "kubernetes", Map.of(), false);
        try (var runner = new io.flexiserve.finetune.k8s.KubernetesRunner(client, settings)) {
            runner.submit(new io.flexiserve.finetune.JobRunner.Assignment(job, Path.of("/models/m"), null,
                    Path.of("/data/files/f.jsonl"), work, false), new Recorded());
            PodSpec pod = trainerJob(client, job.id()).getSpec().getTemplate().getSpec();
            assertEquals("nvidia.com/gpu", pod.getTolerations().get(0).getKey());
            assertEquals(Map.of("accelerator", "h100"), pod.getNodeSelector());
            assertEquals("32Gi", pod.getContainers().get(0).getResources().getLimits().get("memory").toString());
            runner.cancel(job.id());
        }
    }

    /** A runner's reports, the successes kept. */
    private static final class Recorded implements io.flexiserve.finetune.JobRunner.Reports {
        final List<Path> succeeded = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public void succeeded(Path output) {
            succeeded.add(output);
        }

        @Override
        public void failed(io.flexiserve.finetune.JobError error) {
        }

        @Override
        public void cancelled() {
        }

        @Override
        public void interrupted() {
        }

        @Override
        public void message(String text) {
        }

        @Override
        public void step(io.flexiserve.finetune.StepMetrics metrics) {
        }

        @Override
        public void checkpoint(Path dir, io.flexiserve.finetune.StepMetrics metrics) {
        }
    }

    /** A pod no node takes stays pending: the job's events say why, instead of a silent "running". */
    @Test
    void aTrainerPodThatCannotBeScheduledIsReportedInTheEvents() {
        KubernetesClient client = server.getClient();
        String id = createJob();
        writeStatus(client, trainerJob(client, id), new JobStatusBuilder().withActive(1).build()); // pending counts
        client.pods().inNamespace("ml").resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata()
                .withName("trainer-" + id).withLabels(Map.of(TrainerJobSpec.JOB_ID_LABEL, id)).endMetadata()
                .withNewStatus().withPhase("Pending").addNewCondition().withType("PodScheduled").withStatus("False")
                .withReason("Unschedulable").withMessage("0/3 nodes are available: 3 node(s) had untolerated taint")
                .endCondition().endStatus().build()).create();
        await(() -> admin().get("/admin/v1/fine_tuning/jobs/" + id + "/events?limit=100").then().extract()
                .<List<String>>path("data.message"), m -> m.stream().anyMatch(t -> t.contains("is not starting: "
                + "Unschedulable (0/3 nodes are available")), "the pod's scheduling failure in the events");
        admin().post("/admin/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(200);
    }

    @Test
    void cancelDeletesTheJob() {
        KubernetesClient client = server.getClient();
        String id = createJob();
        trainerJob(client, id);
        admin().post("/admin/v1/fine_tuning/jobs/" + id + "/cancel").then().statusCode(200)
                .body("status", org.hamcrest.Matchers.equalTo("cancelled"));
        await(() -> client.batch().v1().jobs().inNamespace("ml").withName(TrainerJobSpec.name(id)).get(), j -> j == null,
                "the trainer Job deleted");
        assertNull(client.batch().v1().jobs().inNamespace("ml").withName(TrainerJobSpec.name(id)).get());
    }
}
