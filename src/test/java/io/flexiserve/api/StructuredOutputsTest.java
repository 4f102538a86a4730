package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonClassDescription;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.openai.client.OpenAIClient;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.chat.completions.StructuredChatCompletion;
import com.openai.models.chat.completions.StructuredChatCompletionCreateParams;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Structured outputs and tool calls through the OpenAI Java SDK against the random-weight demo model: its text is
 * noise, so an output that parses and validates (networknt's validator) shows the constraint at work.
 */
@QuarkusTest
class StructuredOutputsTest {

    static final String MODEL = "flexidepth-demo";
    static final ObjectMapper JSON = new ObjectMapper();
    static final SchemaRegistry SCHEMAS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    static final String TREE = "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
            + "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"},\"maxItems\":2}},"
            + "\"required\":[\"v\",\"kids\"],\"additionalProperties\":false}},\"$ref\":\"#/$defs/node\"}";
    static final String WEATHER = "{\"type\":\"object\",\"properties\":{\"city\":{\"enum\":[\"Paris\",\"Oslo\"]},"
            + "\"days\":{\"type\":\"integer\"}},\"required\":[\"city\",\"days\"],\"additionalProperties\":false}";

    @TestHTTPResource("/v1")
    URI base;

    private OpenAIClient client;

    @BeforeEach
    void connect() {
        client = TestSupport.openAi(base);
    }

    public enum Role { ADMIN, USER }

    /** The SDK turns this class into a strict JSON Schema and the reply back into an instance. */
    public static class Person {
        @JsonPropertyDescription("the person's age in years")
        public long age;
        public boolean member;
        public Role role;
        public List<Long> scores;
    }

    @JsonClassDescription("Looks up the weather forecast")
    public static class GetForecast {
        public Role audience;
        public long days;
    }

    @Test
    void openAiJavaStructuredOutputsParseIntoTheClass() {
        StructuredChatCompletionCreateParams<Person> params = ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("Describe a person.").maxCompletionTokens(3000).temperature(1.0).seed(7)
                .responseFormat(Person.class).build();
        StructuredChatCompletion<Person> completion = client.chat().completions().create(params);
        StructuredChatCompletion.Choice<Person> choice = completion.choices().get(0);
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, choice.finishReason());
        Person person = choice.message().content().orElseThrow();
        assertTrue(person.role == Role.ADMIN || person.role == Role.USER);
        assertTrue(person.scores != null);
    }

    @Test
    void nestedRecursiveSchemasWithSeveralChoicesAllValidate() throws Exception {
        JsonNode body = chat(Map.of("n", 3, "temperature", 1.0, "seed", 3, "max_tokens", 3000,
                "response_format", jsonSchema("tree", TREE)));
        int valid = 0;
        for (JsonNode choice : body.get("choices")) {
            if (choice.get("finish_reason").asText().equals("length")) {
                continue;
            }
            assertEquals("stop", choice.get("finish_reason").asText());
            validate(TREE, choice.at("/message/content").asText());
            valid++;
        }
        assertTrue(valid >= 2, "most trees end within 3000 tokens: " + body);
    }

    @Test
    void lengthsBoundsPatternsAndFormatsHoldInEveryChoice() throws Exception {
        String schema = """
                {"type": "object", "properties": {
                  "code": {"type": "string", "minLength": 2, "maxLength": 4},
                  "age": {"type": "integer", "minimum": 18, "exclusiveMaximum": 130},
                  "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                  "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2},
                  "day": {"type": "string", "format": "date"},
                  "ref": {"type": "string", "pattern": "^[A-Z]{2}-\\\\d{3}$"}},
                 "required": ["code", "age", "ratio", "tags", "day", "ref"], "additionalProperties": false}
                """;
        JsonNode body = chat(Map.of("n", 3, "temperature", 1.0, "seed", 11, "max_tokens", 3000,
                "response_format", jsonSchema("bounded", schema)));
        int valid = 0;
        for (JsonNode choice : body.get("choices")) {
            if (!choice.get("finish_reason").asText().equals("length")) {
                assertEquals("stop", choice.get("finish_reason").asText());
                String content = choice.at("/message/content").asText();
                validate(schema, content);
                java.time.LocalDate.parse(JSON.readTree(content).get("day").asText());
                valid++;
            }
        }
        assertTrue(valid >= 2, "most constrained values end within 3000 tokens: " + body);
    }

    /** vLLM's structured_outputs, sent as the SDK sends an extra field: a choice, a regular expression, a schema. */
    @Test
    void vllmStructuredOutputsHoldOnChatAndCompletions() throws Exception {
        List<String> choices = List.of("positive", "negative");
        ChatCompletion chat = client.chat().completions().create(ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("Classify: great!").temperature(1.0).seed(5).maxCompletionTokens(50)
                .putAdditionalBodyProperty("structured_outputs", com.openai.core.JsonValue.from(Map.of("choice", choices)))
                .build());
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, chat.choices().get(0).finishReason());
        assertTrue(choices.contains(chat.choices().get(0).message().content().orElseThrow()), chat.toString());
        String regex = "[a-z]{2,6}@[a-z]{2,6}\\.com";
        com.openai.models.completions.Completion text = client.completions().create(
                com.openai.models.completions.CompletionCreateParams.builder().model(MODEL).prompt("Email: ").n(3)
                        .temperature(1.0).seed(9).maxTokens(60)
                        .putAdditionalBodyProperty("structured_outputs", com.openai.core.JsonValue.from(Map.of("regex", regex)))
                        .build());
        for (var choice : text.choices()) {
            assertEquals(com.openai.models.completions.CompletionChoice.FinishReason.STOP, choice.finishReason(), text.toString());
            assertTrue(choice.text().matches(regex), "the whole text matches: " + choice.text());
        }
        JsonNode json = JSON.readTree(given().contentType(ContentType.JSON).body(JSON.writeValueAsString(Map.of("model", MODEL,
                "prompt", "A tree: ", "max_tokens", 3000, "temperature", 1.0, "seed", 4,
                "structured_outputs", Map.of("json", TREE)))).post("/v1/completions").then().statusCode(200).extract().asString());
        if (!json.at("/choices/0/finish_reason").asText().equals("length")) {
            validate(TREE, json.at("/choices/0/text").asText()); // the schema as text, as vLLM also takes it
        }
        JsonNode one = chat(Map.of("max_tokens", 40, "structured_outputs", Map.of("choice", List.of("a, b"))));
        assertEquals("a, b", one.at("/choices/0/message/content").asText());
        JsonNode two = chat(Map.of("max_tokens", 40, "temperature", 1.0, "seed", 3,
                "structured_outputs", Map.of("choice", List.of("a", "b"))));
        assertTrue(List.of("a", "b").contains(two.at("/choices/0/message/content").asText()),
                "a list is its own grammar, not one whose text looks alike: " + two);
        JsonNode stopped = chat(Map.of("temperature", 1.0, "seed", 5, "max_tokens", 60, "stop", List.of("@"),
                "structured_outputs", Map.of("regex", regex)));
        assertFalse(stopped.at("/choices/0/message/content").asText().contains("@"),
                "stop strings cut a regular expression's text, as vLLM's do: " + stopped);
    }

    @Test
    void stopStringsNeverCutAStructuredValue() throws Exception {
        String schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"items\":{\"enum\":[\"x,y\",1]},"
                + "\"minItems\":2,\"maxItems\":4}},\"required\":[\"a\"],\"additionalProperties\":false}";
        JsonNode body = chat(Map.of("temperature", 1.0, "seed", 1, "max_tokens", 1000, "stop", List.of(",", "\""),
                "response_format", jsonSchema("s", schema)));
        String content = body.at("/choices/0/message/content").asText();
        assertEquals("stop", body.at("/choices/0/finish_reason").asText());
        assertTrue(content.contains(","), "the stop string occurs inside the value: " + content);
        validate(schema, content);
    }

    @Test
    void aStreamedStructuredOutputIsTheNonStreamedOne() throws Exception {
        Map<String, Object> request = new LinkedHashMap<>(Map.of("temperature", 1.0, "seed", 8, "max_tokens", 3000,
                "response_format", jsonSchema("weather", WEATHER)));
        String whole = chat(request).at("/choices/0/message/content").asText();
        validate(WEATHER, whole);
        request.put("stream", true);
        List<JsonNode> events = Sse.events(base, "/v1/chat/completions", JSON.writeValueAsString(withModel(request)));
        assertEquals(whole, Sse.content(events));
    }

    @Test
    void toolChoiceAutoIsEitherAValidCallOrAnAnswer() throws Exception {
        int calls = 0;
        int answers = 0;
        for (int seed = 0; seed < 6; seed++) {
            JsonNode body = chat(Map.of("temperature", 1.0, "seed", seed, "max_tokens", 400,
                    "tools", List.of(tool("get_weather", WEATHER))));
            JsonNode choice = body.at("/choices/0");
            if (choice.get("finish_reason").asText().equals("tool_calls")) {
                calls++;
                assertTrue(choice.at("/message/content").isNull());
                for (JsonNode call : choice.at("/message/tool_calls")) {
                    validate(WEATHER, call.at("/function/arguments").asText());
                }
            } else {
                answers++;
                assertFalse(choice.at("/message/content").asText().isBlank() && choice.at("/message/tool_calls").size() > 0);
                assertFalse(choice.at("/message/content").asText().strip().startsWith("["), body.toString());
            }
        }
        assertEquals(6, calls + answers);
    }

    @Test
    void jsonObjectModeAndItsLogprobsSeeOnlyAllowedTokens() throws Exception {
        JsonNode body = chat(Map.of("temperature", 1.0, "seed", 5, "max_tokens", 3000, "logprobs", true,
                "top_logprobs", 5, "response_format", Map.of("type", "json_object")));
        JsonNode choice = body.at("/choices/0");
        if (choice.get("finish_reason").asText().equals("stop")) {
            assertTrue(JSON.readTree(choice.at("/message/content").asText()).isObject());
        }
        for (JsonNode top : choice.at("/logprobs/content/0/top_logprobs")) {
            String token = top.get("token").asText();
            assertTrue(token.equals("{") || token.isBlank(), "the first token opens an object: '" + token + "'");
        }
    }

    @Test
    void aSchemaTheGrammarCannotEnforceIsA400NamingKeywordAndPath() {
        BadRequestException e = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                ChatCompletionCreateParams.builder().model(MODEL).addUserMessage("x").responseFormat(
                        com.openai.models.ResponseFormatJsonSchema.builder().jsonSchema(
                                com.openai.models.ResponseFormatJsonSchema.JsonSchema.builder().name("s").schema(
                                        com.openai.models.ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                                                .putAdditionalProperty("type", com.openai.core.JsonValue.from("object"))
                                                .putAdditionalProperty("properties", com.openai.core.JsonValue.from(
                                                        Map.of("n", Map.of("type", "string", "format", "hostname"))))
                                                .build()).build()).build()).build()));
        assertTrue(e.getMessage().contains("'format'") && e.getMessage().contains("#/properties/n"), e.getMessage());
        assertEquals("response_format.json_schema.schema", e.param().orElseThrow());
    }

    @Test
    void aFullToolLoopWithTheSdk() {
        ChatCompletionCreateParams.Builder params = ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("What is the forecast?").addTool(GetForecast.class).maxCompletionTokens(1000)
                .temperature(1.0).seed(11).toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED);
        ChatCompletion first = client.chat().completions().create(params.build());
        ChatCompletion.Choice choice = first.choices().get(0);
        assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
        assertTrue(choice.message().content().isEmpty(), "a reply of calls has no content");
        List<ChatCompletionMessageFunctionToolCall> calls = choice.message().toolCalls().orElseThrow().stream()
                .map(c -> c.asFunction()).toList();
        assertFalse(calls.isEmpty());
        params.addMessage(choice.message());
        for (ChatCompletionMessageFunctionToolCall call : calls) {
            assertEquals("GetForecast", call.function().name());
            assertTrue(call.id().startsWith("call_"));
            GetForecast args = call.function().arguments(GetForecast.class); // the SDK parses them
            assertTrue(args.audience != null);
            params.addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id())
                    .content("{\"forecast\": \"sunny\"}").build());
        }
        ChatCompletion answer = client.chat().completions().create(params.toolChoice(ChatCompletionToolChoiceOption.Auto.NONE)
                .maxCompletionTokens(8).build());
        assertTrue(answer.choices().get(0).message().toolCalls().map(List::isEmpty).orElse(true), "none: an answer");
        assertTrue(answer.choices().get(0).message().content().isPresent());
        ChatCompletion bare = client.chat().completions().create(ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("What is the forecast?").addTool(GetForecast.class).maxCompletionTokens(1)
                .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE).build());
        assertTrue(answer.usage().orElseThrow().promptTokens() > bare.usage().orElseThrow().promptTokens() + 20,
                "the calls and their results are part of the follow-up prompt");
    }

    @Test
    void aStreamedToolCallReassembledEqualsTheNonStreamedOne() throws Exception {
        Map<String, Object> request = new LinkedHashMap<>(Map.of("temperature", 1.0, "seed", 21, "max_tokens", 1000,
                "tool_choice", "required", "tools", List.of(tool("get_weather", WEATHER), tool("get_time", null))));
        JsonNode whole = chat(request);
        assertEquals("tool_calls", whole.at("/choices/0/finish_reason").asText());
        List<String[]> expected = new ArrayList<>();
        for (JsonNode call : whole.at("/choices/0/message/tool_calls")) {
            expected.add(new String[] {call.at("/function/name").asText(), call.at("/function/arguments").asText()});
            if (call.at("/function/name").asText().equals("get_weather")) {
                validate(WEATHER, call.at("/function/arguments").asText());
            } else {
                assertEquals(JSON.readTree("{}"), JSON.readTree(call.at("/function/arguments").asText()));
            }
        }
        request.put("stream", true);
        List<JsonNode> events = Sse.events(base, "/v1/chat/completions", JSON.writeValueAsString(withModel(request)));
        Map<Integer, String[]> streamed = new LinkedHashMap<>();
        Map<Integer, String> ids = new LinkedHashMap<>();
        String finish = null;
        for (JsonNode event : events) {
            JsonNode c = event.at("/choices/0");
            if (c.isMissingNode()) {
                continue;
            }
            if (!c.get("finish_reason").isNull()) {
                finish = c.get("finish_reason").asText();
            }
            for (JsonNode d : c.at("/delta/tool_calls")) {
                int index = d.get("index").asInt();
                if (d.has("id")) {
                    assertFalse(streamed.containsKey(index), "id and name come once, first");
                    ids.put(index, d.get("id").asText());
                    streamed.put(index, new String[] {d.at("/function/name").asText(), ""});
                }
                streamed.get(index)[1] += d.at("/function/arguments").asText("");
            }
        }
        assertEquals("tool_calls", finish);
        assertEquals(expected.size(), streamed.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i)[0], streamed.get(i)[0]);
            assertEquals(expected.get(i)[1], streamed.get(i)[1], "call " + i + "'s arguments, fragment by fragment");
            assertTrue(ids.get(i).startsWith("call_"));
        }
    }

    @Test
    void aNamedToolWithoutParallelCallsIsCalledOnce() throws Exception {
        JsonNode body = chat(Map.of("temperature", 1.0, "seed", 2, "max_tokens", 1000, "parallel_tool_calls", false,
                "tools", List.of(tool("get_weather", WEATHER), tool("get_time", null)),
                "tool_choice", Map.of("type", "function", "function", Map.of("name", "get_weather"))));
        JsonNode calls = body.at("/choices/0/message/tool_calls");
        assertEquals(1, calls.size(), body.toString());
        assertEquals("get_weather", calls.at("/0/function/name").asText());
        validate(WEATHER, calls.at("/0/function/arguments").asText());
        assertTrue(body.at("/choices/0/message/content").isNull());
        assertNotEquals("", calls.at("/0/id").asText());
    }

    /** Cut by max_tokens before its name is complete, a call is no call: never tool_calls [] or a nameless call. */
    @Test
    void aCallCutBeforeItsNameEndsIsNoCall() throws Exception {
        JsonNode body = chat(Map.of("temperature", 1.0, "seed", 2, "max_tokens", 4,
                "tools", List.of(tool("get_weather", WEATHER)), "tool_choice", "required"));
        JsonNode message = body.at("/choices/0/message");
        assertEquals("length", body.at("/choices/0/finish_reason").asText());
        assertTrue(message.path("tool_calls").isMissingNode() || message.path("tool_calls").isNull(), body.toString());
        assertTrue(message.path("content").isNull(), "as a stream sends it: nothing but the finish reason: " + body);
    }

    private JsonNode chat(Map<String, Object> fields) throws Exception {
        String body = given().contentType(ContentType.JSON).body(JSON.writeValueAsString(withModel(fields)))
                .post("/v1/chat/completions").then().statusCode(200).extract().asString();
        return JSON.readTree(body);
    }

    private static Map<String, Object> withModel(Map<String, Object> fields) {
        Map<String, Object> body = new LinkedHashMap<>(fields);
        body.put("model", MODEL);
        body.put("messages", List.of(Map.of("role", "user", "content", "Answer in JSON.")));
        return body;
    }

    private static Map<String, Object> jsonSchema(String name, String schema) throws Exception {
        return Map.of("type", "json_schema", "json_schema", Map.of("name", name, "strict", true,
                "schema", JSON.readValue(schema, Map.class)));
    }

    private static Map<String, Object> tool(String name, String parameters) throws Exception {
        Map<String, Object> function = new LinkedHashMap<>(Map.of("name", name));
        if (parameters != null) {
            function.put("parameters", JSON.readValue(parameters, Map.class));
        }
        return Map.of("type", "function", "function", function);
    }

    private static void validate(String schema, String output) throws Exception {
        var errors = SCHEMAS.getSchema(JSON.readTree(schema)).validate(JSON.readTree(output));
        assertTrue(errors.isEmpty(), output + " -> " + errors);
    }
}
