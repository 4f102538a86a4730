package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Past the queue bound, new requests get 429 with Retry-After; the running ones finish and the service stays healthy. */
@QuarkusTest
@TestProfile(OverloadTest.TinyQueue.class)
class OverloadTest {

    /** One sequence at a time and one waiting. */
    public static class TinyQueue implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("flexiserve.engine.max-num-seqs", "1", "flexiserve.engine.max-queued-requests", "1");
        }
    }

    @TestHTTPResource("/")
    URI base;

    @jakarta.inject.Inject
    ModelRegistry models;

    @Test
    void queueBoundGives429AndNothingBreaks() throws Exception {
        TestSupport.awaitReady();
        // each request takes at least 8 s, so the burst below reaches a full engine however busy the machine is
        models.find("flexidepth-demo").orElseThrow().engine().slowSteps(20);
        try {
            burst();
        } finally {
            models.find("flexidepth-demo").orElseThrow().engine().slowSteps(0);
        }
        given().get("/q/health/ready").then().statusCode(200);
        given().contentType(ContentType.JSON).body("{\"model\":\"flexidepth-demo\",\"prompt\":\"after\",\"max_tokens\":2}")
                .post("/v1/completions").then().statusCode(200);
    }

    private void burst() throws Exception {
        String body = "{\"model\":\"flexidepth-demo\",\"prompt\":\"load\",\"max_tokens\":400,\"temperature\":0,\"ignore_eos\":true}";
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        responses.add(Sse.HTTP.sendAsync(Sse.post(base, "v1/completions", body), HttpResponse.BodyHandlers.ofString()));
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (StreamingLoadTest.metric("flexiserve_requests_running") < 1) { // the only slot is taken
            assertTrue(System.nanoTime() < deadline, "the first request never started");
            Thread.sleep(10);
        }
        for (int i = 0; i < 5; i++) {
            responses.add(Sse.HTTP.sendAsync(Sse.post(base, "v1/completions", body), HttpResponse.BodyHandlers.ofString()));
        }
        int ok = 0;
        int refused = 0;
        for (CompletableFuture<HttpResponse<String>> f : responses) {
            HttpResponse<String> r = f.get(120, TimeUnit.SECONDS);
            if (r.statusCode() == 200) {
                ok++;
                assertEquals(400, Sse.JSON.readTree(r.body()).path("usage").path("completion_tokens").asInt());
            } else {
                refused++;
                assertEquals(429, r.statusCode(), r.body());
                assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
                JsonNode error = Sse.JSON.readTree(r.body()).path("error");
                assertEquals("server_overloaded", error.path("code").asText());
            }
        }
        assertEquals(2, ok, "the running and the one queued request complete");
        assertEquals(4, refused, "the other four are refused");
    }
}
