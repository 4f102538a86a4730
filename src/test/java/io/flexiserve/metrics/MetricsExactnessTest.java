package io.flexiserve.metrics;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The meters of docs/architecture.md section 7 count exactly what a known request did. */
@QuarkusTest
class MetricsExactnessTest {

    private static final String MODEL = "model=\"flexidepth-demo\"";
    private static final int UNROUTED = 4;
    private static final List<Integer> ROUTED = List.of(4, 5, 6, 7);

    @BeforeEach
    void ready() {
        io.flexiserve.api.TestSupport.awaitReady();
    }

    @Test
    void depthAndServingMetersAddUpForOneRequest() {
        Scrape before = new Scrape();
        JsonPath r = given().contentType(ContentType.JSON)
                .body("{\"model\":\"flexidepth-demo\",\"prompt\":\"metrics are data first\",\"max_tokens\":9,\"temperature\":0}")
                .post("/v1/completions").then().statusCode(200).extract().jsonPath();
        int k = r.getInt("usage.completion_tokens");
        int prompt = r.getInt("usage.prompt_tokens");
        assertTrue(k >= 1);
        Scrape after = new Scrape();

        double decodeCount = delta(before, after, "flexidepth_layers_used_count", "phase=\"decode\"");
        double prefillCount = delta(before, after, "flexidepth_layers_used_count", "phase=\"prefill\"");
        assertEquals(k, decodeCount, "one decode observation per generated token");
        assertEquals(prompt - 1, prefillCount, "every prompt row but the last, which produced the first token");
        double layerSum = delta(before, after, "flexidepth_layers_used_sum");
        double runs = 0;
        for (int layer : ROUTED) {
            double run = delta(before, after, "flexidepth_layer_tokens_total", "layer=\"" + layer + "\"", "path=\"run\"");
            double skip = delta(before, after, "flexidepth_layer_tokens_total", "layer=\"" + layer + "\"", "path=\"skip\"");
            assertEquals(decodeCount + prefillCount, run + skip, "layer " + layer + " saw every row once");
            runs += run;
        }
        assertEquals(layerSum, runs + UNROUTED * (decodeCount + prefillCount), 1e-9,
                "sum of routed runs plus unrouted layers times rows equals the histogram's sum");

        assertEquals(k, delta(before, after, "flexiserve_generation_tokens_total"));
        assertEquals(prompt, delta(before, after, "flexiserve_prompt_tokens_total"));
        assertEquals(1, delta(before, after, "flexiserve_requests_finished_total", "finish_reason=\"length\"")
                + delta(before, after, "flexiserve_requests_finished_total", "finish_reason=\"stop\""));
        assertEquals(1, delta(before, after, "flexiserve_time_to_first_token_seconds_count"));
        assertEquals(k - 1, delta(before, after, "flexiserve_inter_token_latency_seconds_count"));
        assertEquals(1, delta(before, after, "flexiserve_e2e_request_latency_seconds_count"));
        assertEquals(1, delta(before, after, "flexiserve_request_queue_time_seconds_count"));
        assertTrue(delta(before, after, "flexiserve_batch_size_count") >= k, "at least one step per token");
    }

    @Test
    void rejectedRequestsAreCountedByReasonWithoutClientText() {
        Scrape before = new Scrape();
        given().contentType(ContentType.JSON).body("{\"model\":\"gpt-x\",\"prompt\":\"a\"}").post("/v1/completions")
                .then().statusCode(404);
        given().contentType(ContentType.JSON).body("{\"model\":\"flexidepth-demo\",\"prompt\":\"a\",\"n\":0}")
                .post("/v1/completions").then().statusCode(400);
        Scrape after = new Scrape();
        assertEquals(1, delta(before, after, "flexiserve_requests_rejected_total", "model=\"unknown\"", "reason=\"model_not_found\""));
        assertEquals(1, delta(before, after, "flexiserve_requests_rejected_total", MODEL, "reason=\"invalid_value\""));
        assertTrue(!after.text.contains("gpt-x"), "client-chosen names never become labels");
    }

    @Test
    void histogramBucketsAreIntegerLayersAndMillisecondLatencies() {
        given().contentType(ContentType.JSON).body("{\"model\":\"flexidepth-demo\",\"prompt\":\"b\",\"max_tokens\":2}")
                .post("/v1/completions").then().statusCode(200);
        Scrape s = new Scrape();
        for (int layers = 0; layers <= 8; layers++) {
            assertTrue(s.text.contains("flexidepth_layers_used_bucket{model=\"flexidepth-demo\",phase=\"decode\",le=\""
                    + layers + ".0\"}"), "bucket le=" + layers);
        }
        assertTrue(s.text.contains("flexiserve_time_to_first_token_seconds_bucket{model=\"flexidepth-demo\",le=\"0.001\"}"),
                "latency buckets start at 1 ms");
        for (String family : List.of("flexiserve_requests_running", "flexiserve_requests_waiting", "flexiserve_kv_cache_usage_ratio",
                "flexiserve_prompt_tokens_total", "flexiserve_generation_tokens_total", "flexiserve_requests_finished_total",
                "flexiserve_time_to_first_token_seconds", "flexiserve_inter_token_latency_seconds",
                "flexiserve_e2e_request_latency_seconds", "flexiserve_request_queue_time_seconds", "flexiserve_batch_size",
                "flexidepth_layers_used", "flexidepth_layer_tokens_total")) {
            String base = family.endsWith("_total") ? family.substring(0, family.length() - 6) : family;
            assertTrue(s.text.contains("# HELP " + base + " ") || s.text.contains("# HELP " + family + " "), "description of " + family);
        }
    }

    /** Growth of a series between two scrapes; the demo model's label is added unless the labels name a model. */
    private static double delta(Scrape before, Scrape after, String name, String... labels) {
        boolean namesModel = java.util.Arrays.stream(labels).anyMatch(l -> l.startsWith("model="));
        String[] all = java.util.Arrays.copyOf(labels, labels.length + (namesModel ? 0 : 1));
        if (!namesModel) {
            all[labels.length] = MODEL;
        }
        return after.value(name, all) - before.value(name, all);
    }
}
