package io.flexiserve.admin;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.openai.models.finetuning.jobs.FineTuningJob;
import com.openai.models.finetuning.jobs.FineTuningJobEvent;
import com.openai.models.finetuning.jobs.JobCreateParams;
import com.openai.models.finetuning.jobs.JobListParams;
import com.openai.models.finetuning.jobs.checkpoints.FineTuningJobCheckpoint;
import io.flexiserve.api.TestSupport;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK's files and fine-tuning calls against /admin/v1, training the demo model's routers. */
@QuarkusTest
class FineTuningApiTest {

    static final String TOKEN = "test-admin-token";
    static final String BASE = "flexidepth-demo";

    @jakarta.inject.Inject
    io.flexiserve.finetune.FineTuningService jobs;
    @jakarta.inject.Inject
    io.flexiserve.api.ModelRegistry models;

    @TestHTTPResource("/admin/v1")
    URI admin;
    @TestHTTPResource("/v1")
    URI api;

    private OpenAIClient client;

    @BeforeEach
    void setUp() {
        TestSupport.awaitReady();
        client = OpenAIOkHttpClient.builder().baseUrl(admin.toString()).apiKey(TOKEN).timeout(Duration.ofSeconds(60)).build();
    }

    FileObject upload(String content) throws Exception {
        Path file = Files.createTempFile("train", ".jsonl");
        Files.writeString(file, content);
        return client.files().create(FileCreateParams.builder().file(file).purpose(FilePurpose.FINE_TUNE).build());
    }

    static String conversations(int count) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < count; i++) {
            sb.append("{\"messages\":[{\"role\":\"user\",\"content\":\"What is ").append(i % 10).append(" plus 2?\"},")
                    .append("{\"role\":\"assistant\",\"content\":\"").append(i % 10).append(" plus 2 is ").append(i % 10 + 2)
                    .append(".\"}]}\n");
        }
        return sb.toString();
    }

    JobCreateParams.Hyperparameters hyperparameters(long epochs, int accumulation, int checkpointInterval) {
        return JobCreateParams.Hyperparameters.builder().nEpochs(epochs).batchSize(4)
                .putAdditionalProperty("preset", JsonValue.from("custom"))
                .putAdditionalProperty("alpha", JsonValue.from(0.01))
                .putAdditionalProperty("learning_rate", JsonValue.from(0.002))
                .putAdditionalProperty("gradient_accumulation_steps", JsonValue.from(accumulation))
                .putAdditionalProperty("checkpoint_interval", JsonValue.from(checkpointInterval)).build();
    }

    FineTuningJob awaitEnd(String id) {
        long deadline = System.nanoTime() + 180_000_000_000L;
        while (true) {
            FineTuningJob job = client.fineTuning().jobs().retrieve(id);
            String status = job.status().asString();
            if (status.equals("succeeded") || status.equals("failed") || status.equals("cancelled")) {
                return job;
            }
            assertTrue(System.nanoTime() < deadline, "job " + id + " still " + status);
            sleep(200);
        }
    }

    @Test
    void trainsRoutersThroughTheSdkAndServesTheResult() throws Exception {
        FileObject file = upload(conversations(16));
        assertEquals("train.jsonl".length() > 0, file.filename().endsWith(".jsonl"));
        assertEquals(file.id(), client.files().retrieve(file.id()).id());
        FineTuningJob created = client.fineTuning().jobs().create(JobCreateParams.builder().model(BASE)
                .trainingFile(file.id()).suffix("sdk").hyperparameters(hyperparameters(2, 1, 3)).build());
        assertEquals("validating_files", created.status().asString());
        FineTuningJob done = awaitEnd(created.id());
        assertEquals("succeeded", done.status().asString(), () -> "error: " + done.error());
        auth().get("/admin/v1/fine_tuning/jobs/" + done.id()).then().statusCode(200)
                .body("metrics.total_steps", equalTo(8)) // 16 examples / batch 4 x 2 epochs
                .body("hyperparameters.alpha", equalTo(0.01f)).body("method.type", equalTo("supervised"));
        assertTrue(done.trainedTokens().orElseThrow() > 0);
        String model = done.fineTunedModel().orElseThrow();
        assertTrue(model.startsWith("ft:" + BASE + ":sdk:"), model);

        List<FineTuningJobEvent> events = client.fineTuning().jobs().listEvents(created.id()).data();
        assertTrue(events.stream().anyMatch(e -> e.message().startsWith("Step 8/8")), "events: " + events);
        assertTrue(events.get(0).message().contains("successfully completed"), "newest first: " + events.get(0).message());
        List<FineTuningJobCheckpoint> checkpoints = client.fineTuning().jobs().checkpoints().list(created.id()).data();
        assertEquals(List.of(6L, 3L), checkpoints.stream().map(FineTuningJobCheckpoint::stepNumber).toList());

        // served next to the base, sharing its weights: listed and answering, then taken down
        auth().body("{\"fine_tuning_job_id\":\"" + done.id() + "\"}").post("/admin/v1/models").then().statusCode(200)
                .body("id", equalTo(model)).body("base", equalTo(BASE));
        auth().body("{\"fine_tuning_job_id\":\"" + done.id() + "\"}").post("/admin/v1/models").then().statusCode(400);
        given().get(api + "/models").then().statusCode(200).body("data.id", org.hamcrest.Matchers.hasItem(model));
        given().contentType(ContentType.JSON).body("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":"
                + "\"What is 3 plus 2?\"}],\"max_tokens\":4,\"flexidepth\":{\"return_layers\":true}}")
                .post(api + "/chat/completions").then().statusCode(200).body("model", equalTo(model))
                .body("usage.flexidepth.num_layers", equalTo(8));
        auth().get("/admin/v1/models").then().statusCode(200).body("data.id", org.hamcrest.Matchers.hasItem(model));
        String scrape = given().get("/q/metrics").asString();
        assertTrue(scrape.contains("flexiserve_finetune_step{fine_tuning_job=\"" + created.id() + "\",model=\"" + BASE + "\"} 8.0"),
                "fine-tuning meters");
        assertEquals(model + ":ckpt-step-6", checkpoints.get(0).fineTunedModelCheckpoint());
        // pages go on after the cursor (an SDK's auto-pagination follows has_more)
        String path = "/admin/v1/fine_tuning/jobs/" + done.id() + "/checkpoints?limit=1";
        auth().get(path).then().statusCode(200).body("has_more", equalTo(true)).body("data[0].step_number", equalTo(6));
        auth().get(path + "&after=" + checkpoints.get(0).id()).then().statusCode(200).body("has_more", equalTo(false))
                .body("data[0].step_number", equalTo(3));
        // a checkpoint served without a name is served as the model its listing names
        auth().body("{\"fine_tuning_job_id\":\"" + done.id() + "\",\"checkpoint\":\"" + checkpoints.get(0).id() + "\"}")
                .post("/admin/v1/models").then().statusCode(200).body("id", equalTo(model + ":ckpt-step-6"));
        auth().delete("/admin/v1/models/" + model + ":ckpt-step-6").then().statusCode(200);
        String checkpointId = checkpoints.get(0).id();
        auth().body("{\"fine_tuning_job_id\":\"" + done.id() + "\",\"checkpoint\":\"" + checkpointId + "\",\"model\":\"ckpt6\"}")
                .post("/admin/v1/models").then().statusCode(200).body("id", equalTo("ckpt6"));

        // a router set that cannot be loaded is refused alone: 400, and the base and the served sets answer on
        Path broken = jobs.checkpoints(done.id()).stream().filter(c -> c.step() == 3).findFirst().orElseThrow().dir()
                .resolve(io.flexiserve.model.RouterWeights.FILE);
        Files.write(broken, java.util.Arrays.copyOf(Files.readAllBytes(broken), 100)); // truncated
        auth().body("{\"fine_tuning_job_id\":\"" + done.id() + "\",\"checkpoint\":\"" + checkpoints.get(1).id()
                + "\",\"model\":\"broken\"}").post("/admin/v1/models").then().statusCode(400)
                .body("error.message", org.hamcrest.Matchers.containsString("cannot be served"));
        for (String served : List.of(BASE, model)) {
            given().contentType(ContentType.JSON).body("{\"model\":\"" + served + "\",\"prompt\":\"hi\",\"max_tokens\":2}")
                    .post(api + "/completions").then().statusCode(200);
        }
        given().get(api + "/models/broken").then().statusCode(404);

        // a second stage trains on from the served first stage; its result runs on the same base weights
        FineTuningJob stage2 = awaitEnd(client.fineTuning().jobs().create(JobCreateParams.builder().model(model)
                .trainingFile(file.id()).suffix("two").hyperparameters(hyperparameters(1, 1, 4)).build()).id());
        assertEquals("succeeded", stage2.status().asString(), () -> "error: " + stage2.error());
        String model2 = stage2.fineTunedModel().orElseThrow();
        auth().body("{\"fine_tuning_job_id\":\"" + stage2.id() + "\"}").post("/admin/v1/models").then().statusCode(200)
                .body("id", equalTo(model2)).body("base", equalTo(BASE));
        auth().delete("/admin/v1/models/" + model2).then().statusCode(200);
        auth().delete("/admin/v1/models/" + model).then().statusCode(200).body("deleted", equalTo(true));

        // requests in flight on a set taken down get an answer: 503 model_stopped, in a stream as its last event
        var ckpt6 = models.find("ckpt6").orElseThrow().engine();
        ckpt6.slowSteps(50); // 200 tokens take at least 10 s: both are running when the set goes
        String inFlight = "{\"model\":\"ckpt6\",\"prompt\":\"hi\",\"max_tokens\":200,\"ignore_eos\":true";
        HttpClient http = HttpClient.newHttpClient();
        var plain = http.sendAsync(completion(inFlight + "}"), HttpResponse.BodyHandlers.ofString());
        var stream = http.sendAsync(completion(inFlight + ",\"stream\":true}"), HttpResponse.BodyHandlers.ofString());
        TestSupport.await("both requests running on ckpt6", 120, () -> ckpt6.stats().running() == 2);
        auth().delete("/admin/v1/models/ckpt6").then().statusCode(200);
        HttpResponse<String> stopped = plain.get(120, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(503, stopped.statusCode(), stopped.body());
        assertTrue(stopped.body().contains("\"code\":\"model_stopped\""), stopped.body());
        HttpResponse<String> streamed = stream.get(120, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(200, streamed.statusCode(), "the stream had started");
        assertTrue(streamed.body().contains("data: {\"error\":") && streamed.body().contains("model_stopped")
                && !streamed.body().contains("[DONE]"), streamed.body());
        auth().delete("/admin/v1/models/ckpt6").then().statusCode(404);
        given().get(api + "/models").then().statusCode(200).body("data.id", org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasItem(model)));
        given().get(api + "/models/" + model).then().statusCode(404);
    }

    private HttpRequest completion(String body) {
        return HttpRequest.newBuilder(URI.create(api + "/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    /** No job of a test keeps training into the next test (or the next test class's service). */
    @org.junit.jupiter.api.AfterEach
    void noJobLeftRunning() {
        for (FineTuningJob job : client.fineTuning().jobs().list(JobListParams.builder().limit(100).build()).data()) {
            String status = job.status().asString();
            if (status.equals("queued") || status.equals("running") || status.equals("validating_files")) {
                client.fineTuning().jobs().cancel(job.id());
            }
        }
    }

    @Test
    void listsJobsWithCursorPagination() throws Exception {
        FileObject file = upload(conversations(4));
        String first = client.fineTuning().jobs().create(JobCreateParams.builder().model(BASE).trainingFile(file.id())
                .hyperparameters(hyperparameters(1, 1, 10)).build()).id();
        String second = client.fineTuning().jobs().create(JobCreateParams.builder().model(BASE).trainingFile(file.id())
                .hyperparameters(hyperparameters(1, 1, 10)).build()).id();
        var page = client.fineTuning().jobs().list(JobListParams.builder().limit(1).build());
        assertEquals(List.of(second), page.data().stream().map(FineTuningJob::id).toList(), "newest first");
        assertTrue(page.hasNextPage());
        assertEquals(List.of(first), page.nextPage().data().stream().map(FineTuningJob::id).limit(1).toList());
        awaitEnd(first);
        awaitEnd(second);
    }

    @Test
    void cancelStopsARunningJob() throws Exception {
        FileObject file = upload(conversations(64));
        String id = client.fineTuning().jobs().create(JobCreateParams.builder().model(BASE).trainingFile(file.id())
                .hyperparameters(hyperparameters(20, 1, 1000)).build()).id();
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!client.fineTuning().jobs().retrieve(id).status().asString().equals("running")) {
            assertTrue(System.nanoTime() < deadline, "never started");
            sleep(50);
        }
        auth().delete("/admin/v1/files/" + file.id()).then().statusCode(409).body("error.code", equalTo("file_in_use"))
                .body("error.message", containsString(id));
        FineTuningJob cancelled = client.fineTuning().jobs().cancel(id);
        assertEquals("cancelled", cancelled.status().asString());
        assertTrue(client.files().delete(file.id()).deleted(), "its job has ended: the file may go");
        long atCancel = steps(id);
        // jobs run one at a time: once a job created after the cancel has ended, the cancelled one's thread is done
        String next = client.fineTuning().jobs().create(JobCreateParams.builder().model(BASE).trainingFile(upload(conversations(4)).id())
                .hyperparameters(hyperparameters(1, 1, 1000)).build()).id();
        awaitEnd(next);
        FineTuningJob later = client.fineTuning().jobs().retrieve(id);
        assertEquals("cancelled", later.status().asString());
        assertTrue(later.fineTunedModel().isEmpty());
        assertTrue(steps(id) <= atCancel + 1, "at most the step under way at the cancel finished: " + atCancel + " -> " + steps(id));
        assertThrows(BadRequestException.class, () -> client.fineTuning().jobs().cancel(id), "already cancelled");
    }

    private long steps(String id) {
        return client.fineTuning().jobs().listEvents(id, com.openai.models.finetuning.jobs.JobListEventsParams.builder()
                .limit(100).build()).data().stream().filter(e -> e.message().startsWith("Step ")).count();
    }

    @Test
    void badInputIsA400AndLeavesNothingHalfWritten() throws Exception {
        assertThrows(BadRequestException.class, () -> client.fineTuning().jobs()
                .create(JobCreateParams.builder().model(BASE).trainingFile("file-000000000000000000000000").build()));
        auth().body("{\"model\":\"" + BASE + "\",\"training_file\":\"file-000000000000000000000000\"}")
                .post("/admin/v1/fine_tuning/jobs").then().statusCode(400).body("error.param", equalTo("training_file"));
        FileObject good = upload(conversations(4));
        for (String[] bad : new String[][] {{"\"alpha\":-1,\"preset\":\"custom\"", "hyperparameters.alpha"},
                {"\"batch_size\":0", "hyperparameters.batch_size"}, {"\"n_epochs\":\"many\"", "hyperparameters.n_epochs"},
                {"\"learning_rate\":2", "hyperparameters.learning_rate"}, {"\"preset\":\"fast\"", "hyperparameters.preset"},
                {"\"routing_layers\":[99]", "hyperparameters.routing_layers"}}) {
            auth().body("{\"model\":\"" + BASE + "\",\"training_file\":\"" + good.id() + "\",\"hyperparameters\":{" + bad[0] + "}}")
                    .post("/admin/v1/fine_tuning/jobs").then().statusCode(400).body("error.param", equalTo(bad[1]));
        }
        auth().body("{\"model\":\"nope\",\"training_file\":\"" + good.id() + "\"}").post("/admin/v1/fine_tuning/jobs")
                .then().statusCode(400).body("error.param", equalTo("model"));
        auth().body("{\"model\":\"" + BASE + "\",\"training_file\":\"" + good.id() + "\",\"surprise\":1}")
                .post("/admin/v1/fine_tuning/jobs").then().statusCode(400).body("error.code", equalTo("unknown_parameter"));
        assertThrows(NotFoundException.class, () -> client.fineTuning().jobs().retrieve("ftjob-doesnotexist"));
        auth().get("/admin/v1/fine_tuning/jobs?limit=0").then().statusCode(400).body("error.param", equalTo("limit"));

        // a bad JSONL file fails in validating_files, naming its lines, before any training
        FileObject bad = upload(conversations(2) + "not json\n{\"messages\":[{\"role\":\"user\",\"content\":\"no reply\"}]}\n"
                + "{\"conversations\":[{\"from\":\"human\",\"value\":\"hi\"},{\"from\":\"gpt\",\"value\":\"hello\"}]}\n");
        FineTuningJob failed = awaitEnd(client.fineTuning().jobs().create(JobCreateParams.builder().model(BASE)
                .trainingFile(bad.id()).build()).id());
        assertEquals("failed", failed.status().asString());
        FineTuningJob.Error error = failed.error().orElseThrow();
        assertEquals("invalid_training_file", error.code());
        assertTrue(error.message().contains("line 3: not valid JSON") && error.message().contains("line 4: 'messages' has no assistant"),
                error.message());
        assertFalse(error.message().contains("line 5"), "the ShareGPT line is valid: " + error.message());
        assertTrue(failed.trainedTokens().isEmpty());
        auth().get("/admin/v1/fine_tuning/jobs/" + failed.id() + "/checkpoints").then().statusCode(200).body("data.size()", equalTo(0));

        // uploads: wrong purpose, no file
        given().header("Authorization", "Bearer " + TOKEN).multiPart("purpose", "assistants")
                .multiPart("file", "a.jsonl", "{}".getBytes()).post("/admin/v1/files").then().statusCode(400)
                .body("error.param", equalTo("purpose"));
        given().header("Authorization", "Bearer " + TOKEN).multiPart("purpose", "fine-tune").post("/admin/v1/files")
                .then().statusCode(400).body("error.param", equalTo("file"));
    }

    @Test
    void filesCanBeListedReadAndDeleted() throws Exception {
        FileObject large = upload(conversations(120_000)); // 11 MB: past Quarkus' default body limit of 10 MiB
        assertTrue(large.bytes() > 10L << 20, "bytes: " + large.bytes());
        assertTrue(client.files().delete(large.id()).deleted());
        FileObject file = upload(conversations(3));
        assertTrue(client.files().list().data().stream().anyMatch(f -> f.id().equals(file.id())));
        auth().get("/admin/v1/files/" + file.id() + "/content").then().statusCode(200).body(containsString("plus 2 is 4"));
        assertTrue(client.files().delete(file.id()).deleted());
        assertThrows(NotFoundException.class, () -> client.files().retrieve(file.id()));
        assertFalse(client.files().list().data().stream().anyMatch(f -> f.id().equals(file.id())));
    }

    @Test
    void eventStreamReplaysAndEndsWithDone() throws Exception {
        FileObject file = upload(conversations(4));
        String id = client.fineTuning().jobs().create(JobCreateParams.builder().model(BASE).trainingFile(file.id())
                .hyperparameters(hyperparameters(1, 1, 10)).build()).id();
        String stream = auth().get("/admin/v1/fine_tuning/jobs/" + id + "/events?stream=true").then().statusCode(200)
                .extract().asString();
        assertTrue(stream.contains("\"object\":\"fine_tuning.job.event\""), stream);
        assertTrue(stream.contains("Step 1/1"), stream);
        assertTrue(stream.trim().endsWith("data: [DONE]"), stream);
        assertTrue(stream.indexOf("Validating training file") < stream.indexOf("successfully completed"), "oldest first: " + stream);
    }

    private static io.restassured.specification.RequestSpecification auth() {
        return given().header("Authorization", "Bearer " + TOKEN).contentType(ContentType.JSON);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
