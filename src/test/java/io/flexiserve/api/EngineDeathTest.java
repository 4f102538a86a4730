package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An {@link Error} on the engine thread (here an injected OutOfMemoryError): the step's request and the waiting ones
 * get 500 in OpenAI's shape, none is left hanging, health says why, and new requests get 503 until a restart.
 */
@QuarkusTest
@TestProfile(EngineDeathTest.OneSequenceAtATime.class)
class EngineDeathTest {

    /** One running sequence, so that the others wait in the queue when the engine dies (and a fresh app for this test). */
    public static class OneSequenceAtATime implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("flexiserve.engine.max-num-seqs", "1");
        }
    }

    private static final String COMPLETION = "{\"model\":\"flexidepth-demo\",\"prompt\":\"oom\",\"max_tokens\":300,\"ignore_eos\":true";

    @Inject
    ModelRegistry models;

    @TestHTTPResource("/")
    URI base;

    @Test
    void anErrorInAStepFailsEveryRequestAndMarksTheModelUnhealthy() throws Exception {
        TestSupport.awaitReady();
        var engine = models.find("flexidepth-demo").orElseThrow().engine();
        engine.slowSteps(20);
        List<CompletableFuture<HttpResponse<String>>> plain = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            plain.add(Sse.HTTP.sendAsync(Sse.post(base, "v1/completions", COMPLETION + "}"), HttpResponse.BodyHandlers.ofString()));
        }
        CompletableFuture<HttpResponse<String>> stream = Sse.HTTP.sendAsync(
                Sse.post(base, "v1/completions", COMPLETION + ",\"stream\":true}"), HttpResponse.BodyHandlers.ofString());
        TestSupport.await("one running and three waiting", 120,
                () -> TestSupport.metricSum("flexiserve_requests_running") == 1
                        && TestSupport.metricSum("flexiserve_requests_waiting") == 3);
        engine.failNextStep(new OutOfMemoryError("injected: Java heap space"));

        for (CompletableFuture<HttpResponse<String>> f : plain) {
            HttpResponse<String> r = f.get(120, TimeUnit.SECONDS);
            assertEquals(500, r.statusCode(), r.body());
            JsonNode error = Sse.JSON.readTree(r.body()).path("error");
            assertEquals("server_error", error.path("type").asText());
            assertTrue(error.path("message").asText().contains("OutOfMemoryError"), r.body());
        }
        HttpResponse<String> streamed = stream.get(120, TimeUnit.SECONDS);
        assertEquals(200, streamed.statusCode(), "the stream had started");
        assertTrue(streamed.body().trim().endsWith("}") && streamed.body().contains("data: {\"error\":"), streamed.body());
        assertFalse(streamed.body().contains("[DONE]"));

        given().get("/q/health/live").then().statusCode(503)
                .body("checks.find { it.name == 'engines' }.data.error", containsString("OutOfMemoryError"));
        given().get("/q/health/ready").then().statusCode(503)
                .body("checks.find { it.name == 'model-ready' }.data.error", containsString("restart"));
        given().contentType(ContentType.JSON).body(COMPLETION + "}").post("/v1/completions").then().statusCode(503)
                .body("error.code", equalTo("model_unhealthy"));
        assertEquals(0, TestSupport.metricSum("flexiserve_requests_running") + TestSupport.metricSum("flexiserve_requests_waiting"),
                "nothing left running or waiting");
    }
}
