package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each request option does what OpenAI (or, for depth, our extension) says it does. */
@QuarkusTest
class GenerationOptionsTest {

    @TestHTTPResource("/")
    URI base;

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    private static JsonNode post(String path, String body) throws Exception {
        String out = given().contentType(ContentType.JSON).body(body).post(path).then().statusCode(200).extract().asString();
        return Sse.JSON.readTree(out);
    }

    private static String chat(String extra) {
        return "{\"model\":\"flexidepth-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}]," + extra + "}";
    }

    @Test
    void thresholdMovesTheLayersEveryTokenUses() throws Exception {
        for (double threshold : new double[] {0, 1}) {
            JsonNode r = post("/v1/chat/completions", chat("\"max_tokens\":10,\"temperature\":0,\"ignore_eos\":true,"
                    + "\"flexidepth\":{\"threshold\":" + threshold + ",\"return_layers\":true}"));
            int expected = threshold == 0 ? 8 : 4;
            for (JsonNode layers : r.path("choices").get(0).path("flexidepth").path("layers")) {
                assertEquals(expected, layers.asInt(), "threshold " + threshold);
            }
            assertEquals(expected, r.path("usage").path("flexidepth").path("avg_layers_per_token").asDouble());
        }
    }

    @Test
    void streamedLayersCoverEveryGeneratedToken() throws Exception {
        List<JsonNode> events = Sse.events(base, "v1/chat/completions", chat("\"max_tokens\":20,\"temperature\":0,\"ignore_eos\":true,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"flexidepth\":{\"return_layers\":true}"));
        int tokens = 0;
        long layerSum = 0;
        for (JsonNode e : events) {
            for (JsonNode c : e.path("choices")) {
                for (JsonNode l : c.path("flexidepth").path("layers")) {
                    tokens++;
                    layerSum += l.asInt();
                }
            }
        }
        JsonNode usage = events.get(events.size() - 1).path("usage");
        assertEquals(20, tokens);
        assertEquals(usage.path("flexidepth").path("avg_layers_per_token").asDouble(), layerSum / 20.0, 1e-3);
    }

    @Test
    void stopStringEndsTheTextBeforeIt() throws Exception {
        String free = post("/v1/completions", "{\"model\":\"flexidepth-demo\",\"prompt\":\"abc\",\"max_tokens\":30,\"temperature\":0}")
                .path("choices").get(0).path("text").asText();
        String printable = free.replaceAll("[^a-zA-Z]", "");
        assertTrue(printable.length() > 0, "the demo model emits some letters: " + free);
        String stop = printable.substring(0, 1);
        JsonNode stopped = post("/v1/completions", "{\"model\":\"flexidepth-demo\",\"prompt\":\"abc\",\"max_tokens\":30,"
                + "\"temperature\":0,\"stop\":[\"" + stop + "\"]}").path("choices").get(0);
        assertEquals(free.substring(0, free.indexOf(stop)), stopped.path("text").asText());
        assertEquals("stop", stopped.path("finish_reason").asText());
    }

    @Test
    void seedRepeatsAndChoicesOfOneRequestDiffer() throws Exception {
        String body = chat("\"max_tokens\":16,\"temperature\":1.0,\"seed\":1234,\"n\":2,\"ignore_eos\":true");
        JsonNode first = post("/v1/chat/completions", body);
        JsonNode again = post("/v1/chat/completions", body);
        assertEquals(first.path("choices"), again.path("choices"), "same seed, same request, same output");
        assertNotEquals(first.path("choices").get(0).path("message"), first.path("choices").get(1).path("message"));
        assertEquals(32, first.path("usage").path("completion_tokens").asInt());
    }

    @Test
    void logprobsAreNormalisedAndOrdered() throws Exception {
        JsonNode r = post("/v1/chat/completions", chat("\"max_tokens\":5,\"temperature\":0,\"ignore_eos\":true,\"logprobs\":true,\"top_logprobs\":3"));
        JsonNode content = r.path("choices").get(0).path("logprobs").path("content");
        assertEquals(5, content.size());
        for (JsonNode t : content) {
            assertTrue(t.path("logprob").asDouble() <= 0);
            JsonNode top = t.path("top_logprobs");
            assertEquals(3, top.size());
            assertEquals(top.get(0).path("logprob").asDouble(), t.path("logprob").asDouble(), 1e-6, "greedy picks the top token");
            assertTrue(top.get(0).path("logprob").asDouble() >= top.get(1).path("logprob").asDouble());
            assertTrue(t.path("bytes").isArray());
        }
    }

    /** Legacy logprobs: text_offset counts from the start of the choice's text, streamed or not, alike. */
    @Test
    void completionTextOffsetsCountFromTheChoicesStartWhenStreamedToo() throws Exception {
        String request = "\"model\":\"flexidepth-demo\",\"prompt\":\"Once upon\",\"max_tokens\":8,\"temperature\":0,"
                + "\"ignore_eos\":true,\"logprobs\":2";
        JsonNode whole = post("/v1/completions", "{" + request + "}").path("choices").get(0).path("logprobs");
        List<Integer> offsets = new java.util.ArrayList<>();
        int at = 0;
        for (int i = 0; i < whole.path("tokens").size(); i++) {
            offsets.add(at);
            at += whole.path("tokens").get(i).asText().length();
        }
        assertEquals(8, offsets.size());
        assertEquals(offsets.toString(), whole.path("text_offset").toString().replace(",", ", "));
        List<Integer> streamed = new java.util.ArrayList<>();
        for (JsonNode e : Sse.events(base, "v1/completions", "{" + request + ",\"stream\":true}")) {
            for (JsonNode c : e.path("choices")) {
                c.path("logprobs").path("text_offset").forEach(o -> streamed.add(o.asInt()));
            }
        }
        assertEquals(offsets, streamed, "each chunk's offsets go on from the chunks before it");
    }

    @Test
    void textPartsAreOneMessageJoinedByNewlines() throws Exception {
        String settings = "\"model\":\"flexidepth-demo\",\"max_tokens\":6,\"temperature\":0,\"ignore_eos\":true";
        JsonNode joined = post("/v1/chat/completions", "{" + settings + ",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Tell me\\na story\"}]}");
        JsonNode parts = post("/v1/chat/completions", "{" + settings + ",\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"text\",\"text\":\"Tell me\"},{\"type\":\"text\",\"text\":\"a story\"}]}]}");
        assertEquals(joined.path("usage").path("prompt_tokens"), parts.path("usage").path("prompt_tokens"));
        assertEquals(joined.path("choices").get(0).path("message").path("content"),
                parts.path("choices").get(0).path("message").path("content"));
    }

    @Test
    void aCompletionWithoutMaxTokensGetsSixteenAsOpenAisLegacyEndpoint() throws Exception {
        JsonNode r = post("/v1/completions", "{\"model\":\"flexidepth-demo\",\"prompt\":\"a\",\"ignore_eos\":true}");
        assertEquals(16, r.path("usage").path("completion_tokens").asInt());
        assertEquals("length", r.path("choices").get(0).path("finish_reason").asText());
    }

    /** openai-python's {@code message.model_dump()} of a reply, sent back as the next turn's history. */
    @Test
    void anAssistantReplyDumpedBySdkIsAcceptedAsHistory() throws Exception {
        JsonNode r = post("/v1/chat/completions", "{\"model\":\"flexidepth-demo\",\"max_tokens\":2,\"messages\":["
                + "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\",\"refusal\":null,"
                + "\"annotations\":null,\"audio\":null,\"function_call\":null,\"tool_calls\":null},"
                + "{\"role\":\"user\",\"content\":\"and?\"}]}");
        assertEquals("assistant", r.path("choices").get(0).path("message").path("role").asText());
    }

    @Test
    void completionsAcceptEveryPromptFormAndEcho() throws Exception {
        JsonNode r = post("/v1/completions", "{\"model\":\"flexidepth-demo\",\"prompt\":[\"hi\",[72,105]],\"max_tokens\":3,\"ignore_eos\":true,"
                + "\"temperature\":0,\"echo\":true}");
        assertEquals(2, r.path("choices").size());
        assertTrue(r.path("choices").get(0).path("text").asText().startsWith("hi"));
        assertTrue(r.path("choices").get(1).path("text").asText().startsWith("Hi"), "token ids 72, 105 are 'Hi'");
        assertEquals(1, r.path("choices").get(1).path("index").asInt());
        // "hi" gets BOS from the tokenizer's post-processor: 3 tokens; the id prompt is taken as given: 2 tokens
        assertEquals(5, r.path("usage").path("prompt_tokens").asInt());
    }

    @Test
    void maxCompletionTokensLimitsAndLengthIsReported() throws Exception {
        JsonNode r = post("/v1/chat/completions", chat("\"max_completion_tokens\":3,\"temperature\":0,\"ignore_eos\":true"));
        assertEquals(3, r.path("usage").path("completion_tokens").asInt());
        assertEquals("length", r.path("choices").get(0).path("finish_reason").asText());
        assertFalse(r.path("id").asText().isEmpty());
        assertEquals("chat.completion", r.path("object").asText());
    }
}
