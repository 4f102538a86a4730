package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A checkpoint whose chat template has a tool format (Llama 3.1's, reduced): replies call in that format, one
 * {@code {"name", "parameters"}} object, and come back as OpenAI's tool_calls; sent back as history, the template
 * (which refuses a turn of several calls) renders them.
 */
@QuarkusTest
@TestProfile(TemplateToolCallsTest.Llama31Template.class)
class TemplateToolCallsTest {

    static final ObjectMapper JSON = new ObjectMapper();

    /** Llama 3.1's tool parts: the tools as JSON in a system turn, one call per turn, results as ipython turns. */
    static final String TEMPLATE = "{{- bos_token }}{%- if tools is not none %}<|start_header_id|>system<|end_header_id|>\n\n"
            + "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}."
            + "{%- for t in tools %}\n{{ t | tojson }}{%- endfor %}<|eot_id|>{%- endif %}"
            + "{%- for message in messages %}"
            + "{%- if message.role == 'assistant' and message.tool_calls is defined and message.tool_calls %}"
            + "{%- if message.tool_calls|length != 1 %}{{ raise_exception(\"This model only supports single tool-calls at once!\") }}{%- endif %}"
            + "{%- set tool_call = message.tool_calls[0].function %}<|start_header_id|>assistant<|end_header_id|>\n\n"
            + "{\"name\": \"{{ tool_call.name }}\", \"parameters\": {{ tool_call.arguments | tojson }}}<|eot_id|>"
            + "{%- elif message.role == 'tool' %}<|start_header_id|>ipython<|end_header_id|>\n\n{{ message.content }}<|eot_id|>"
            + "{%- else %}<|start_header_id|>{{ message.role }}<|end_header_id|>\n\n{{ message.content }}<|eot_id|>"
            + "{%- endif %}{%- endfor %}"
            + "{%- if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";
    static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":"
            + "\"object\",\"properties\":{\"city\":{\"enum\":[\"Paris\",\"Oslo\"]}},\"required\":[\"city\"],"
            + "\"additionalProperties\":false}}}]";

    /** The demo checkpoint with that template. */
    public static class Llama31Template implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return TestSupport.demoWithTokenizerConfig("llama31-tools", tokenizer -> tokenizer.put("chat_template", TEMPLATE));
        }
    }

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    private static JsonNode chat(String messages, String extra) throws IOException {
        String body = given().contentType(ContentType.JSON).body("{\"model\":\"llama31-tools\",\"messages\":" + messages
                + ",\"tools\":" + TOOLS + ",\"max_tokens\":300,\"temperature\":1" + extra + "}")
                .post("/v1/chat/completions").then().statusCode(200).extract().asString();
        return JSON.readTree(body);
    }

    @Test
    void callsComeBackAsToolCallsAndGoBackAsHistory() throws IOException {
        JsonNode reply = chat("[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"}]",
                ",\"tool_choice\":\"required\",\"parallel_tool_calls\":true,\"seed\":3");
        JsonNode choice = reply.at("/choices/0");
        assertEquals("tool_calls", choice.get("finish_reason").asText(), reply.toString());
        JsonNode calls = choice.at("/message/tool_calls");
        assertEquals(1, calls.size(), "one call a turn, as the template allows: " + reply);
        assertEquals("get_weather", calls.at("/0/function/name").asText());
        JsonNode arguments = JSON.readTree(calls.at("/0/function/arguments").asText());
        assertTrue(arguments.path("city").asText().matches("Paris|Oslo"), arguments.toString());

        String history = "[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"},{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":" + calls + "},{\"role\":\"tool\",\"tool_call_id\":\"" + calls.at("/0/id").asText()
                + "\",\"content\":\"sunny\"},{\"role\":\"user\",\"content\":\"And in Paris?\"}]";
        JsonNode next = chat(history, ",\"tool_choice\":\"required\",\"seed\":4");
        assertEquals("get_weather", next.at("/choices/0/message/tool_calls/0/function/name").asText(), next.toString());
    }

    @Test
    void underAutoAReplyOpeningWithABraceIsACall() throws IOException {
        for (int seed = 0; seed < 4; seed++) {
            JsonNode reply = chat("[{\"role\":\"user\",\"content\":\"Weather?\"}]", ",\"seed\":" + seed)
                    .at("/choices/0");
            String content = reply.at("/message/content").asText("");
            if (reply.at("/message/tool_calls").isArray() && reply.at("/message/tool_calls").size() > 0) {
                assertEquals("tool_calls", reply.get("finish_reason").asText());
            } else {
                assertTrue(!content.stripLeading().startsWith("{"), "an answer never opens as a call: " + content);
            }
        }
    }
}
