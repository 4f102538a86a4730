package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A step that throws fails its requests with an OpenAI error (500, or one SSE error event) and nothing else. */
@QuarkusTest
class FaultInjectionTest {

    private static final String COMPLETION = "{\"model\":\"flexidepth-demo\",\"prompt\":\"fault\",\"max_tokens\":8,\"ignore_eos\":true";

    @Inject
    ModelRegistry models;

    @TestHTTPResource("/")
    URI base;

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    @Test
    void nonStreamingRequestInAFailingStepGets500InOpenAiShape() {
        models.find("flexidepth-demo").orElseThrow().engine().failNextStep(new IllegalStateException("injected fault: test"));
        given().contentType(ContentType.JSON).body(COMPLETION + "}").post("/v1/completions").then().statusCode(500)
                .body("error.type", equalTo("server_error")).body("error.message", containsString("injected fault: test"));
        given().contentType(ContentType.JSON).body(COMPLETION + "}").post("/v1/completions").then().statusCode(200)
                .body("usage.completion_tokens", equalTo(8));
    }

    @Test
    void streamingRequestInAFailingStepGetsOneErrorEventAndTheStreamCloses() throws Exception {
        models.find("flexidepth-demo").orElseThrow().engine().failNextStep(new IllegalStateException("injected fault: stream"));
        HttpResponse<String> r = Sse.HTTP.send(Sse.post(base, "v1/completions", COMPLETION + ",\"stream\":true}"),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), "the stream had started");
        String[] events = r.body().trim().split("\n\n");
        String last = events[events.length - 1];
        assertTrue(last.startsWith("data: {\"error\":"), "the stream ends with one error event: " + r.body());
        assertTrue(!r.body().contains("[DONE]"), "a failed stream does not claim completion");
        given().get("/q/health/ready").then().statusCode(200);
    }
}
