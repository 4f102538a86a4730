package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Many streams at once, batch invariance through HTTP, and a client that walks away mid-stream. */
@QuarkusTest
class StreamingLoadTest {

    @TestHTTPResource("/")
    URI base;

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    private static String chat(String prompt, int maxTokens, boolean stream) {
        return "{\"model\":\"flexidepth-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}],"
                + "\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":" + stream
                + (stream ? ",\"stream_options\":{\"include_usage\":true}" : "") + "}";
    }

    @Test
    void sixteenSimultaneousStreamsAllCompleteWellFormed() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<List<JsonNode>>> streams = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                String body = chat("stream number " + i, 10 + i, true);
                streams.add(pool.submit(() -> Sse.events(base, "v1/chat/completions", body)));
            }
            for (int i = 0; i < 16; i++) {
                List<JsonNode> events = streams.get(i).get(120, TimeUnit.SECONDS);
                JsonNode usage = events.get(events.size() - 1).path("usage");
                assertEquals(10 + i, usage.path("completion_tokens").asInt(), "stream " + i);
                assertEquals("assistant", events.get(0).path("choices").get(0).path("delta").path("role").asText());
                assertEquals(1, events.stream().map(e -> e.path("id").asText()).distinct().count());
                long finishes = events.stream().filter(e -> e.path("choices").size() > 0
                        && !e.path("choices").get(0).path("finish_reason").isNull()).count();
                assertEquals(1, finishes, "exactly one finish_reason in stream " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void greedyTextIsTheSameAloneAndWhileSevenOthersRun() throws Exception {
        String body = chat("batch invariance", 24, false);
        String alone = given().contentType(ContentType.JSON).body(body).post("/v1/chat/completions").then().statusCode(200)
                .extract().path("choices[0].message.content");
        String batched = whileOthersStream(7, () -> given().contentType(ContentType.JSON).body(body)
                .post("/v1/chat/completions").then().statusCode(200).extract().path("choices[0].message.content"));
        assertEquals(alone, batched);
    }

    @Test
    void seededSamplingRepeatsWhileOtherRequestsRun() throws Exception {
        String body = "{\"model\":\"flexidepth-demo\",\"prompt\":\"seeded\",\"max_tokens\":20,\"temperature\":1.0,"
                + "\"seed\":77,\"ignore_eos\":true}";
        String alone = given().contentType(ContentType.JSON).body(body).post("/v1/completions").then().statusCode(200)
                .extract().path("choices[0].text");
        String busy = whileOthersStream(6, () -> given().contentType(ContentType.JSON).body(body)
                .post("/v1/completions").then().statusCode(200).extract().path("choices[0].text"));
        assertEquals(alone, busy, "same seed, same request, same text under concurrency");
    }

    /** Runs {@code request} while {@code count} other streams decode, and waits for them all to finish. */
    private <T> T whileOthersStream(int count, java.util.concurrent.Callable<T> request) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(count);
        try {
            List<Future<List<JsonNode>>> others = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String other = chat("other request " + i, 40, true);
                others.add(pool.submit(() -> Sse.events(base, "v1/chat/completions", other)));
            }
            Thread.sleep(50); // let the others start decoding
            T result = request.call();
            for (Future<List<JsonNode>> f : others) {
                f.get(120, TimeUnit.SECONDS);
            }
            return result;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void clientThatDisconnectsMidStreamFreesItsSequence() throws Exception {
        awaitIdle();
        byte[] body = chat("long story", 3000, true).getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket(base.getHost(), base.getPort())) { // a raw client, so closing really hangs up
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            out.write(body);
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[4096];
            int read = 0;
            while (read < 2000) {
                int n = in.read(buffer);
                assertTrue(n > 0, "the stream delivers data");
                read += n;
            }
            assertEquals(1.0, metric("flexiserve_requests_running"), "the sequence is running while the client reads");
            assertTrue(metric("flexiserve_kv_cache_usage_ratio") > 0);
        }
        awaitIdle();
    }

    private static void awaitIdle() throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (metric("flexiserve_requests_running") != 0 || metric("flexiserve_kv_cache_usage_ratio") != 0) {
            assertTrue(System.nanoTime() < deadline, "running sequences or KV rows were not freed");
            Thread.sleep(50);
        }
    }

    static double metric(String name) {
        String text = given().get("/q/metrics").asString();
        for (String line : text.split("\n")) {
            if (line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no metric " + name);
    }

}
