package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Malformed requests: each gets its documented status and an OpenAI error body naming the problem; never a 5xx. */
@QuarkusTest
class BadRequestTest {

    private static final String M = "\"model\":\"flexidepth-demo\"";
    private static final String MSGS = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    static Stream<Arguments> chatCases() {
        return Stream.of(
                Arguments.of("not JSON", "{\"model\": ", 400, null, "invalid_json"),
                Arguments.of("empty body", "", 400, null, "invalid_json"),
                Arguments.of("JSON array body", "[1,2]", 400, "body", "invalid_type"),
                Arguments.of("trailing garbage", "{" + M + "," + MSGS + "} x", 400, null, "invalid_json"),
                Arguments.of("missing model", "{" + MSGS + "}", 400, "model", "invalid_value"),
                Arguments.of("unknown model", "{\"model\":\"gpt-5\"," + MSGS + "}", 404, "model", "model_not_found"),
                Arguments.of("missing messages", "{" + M + "}", 400, "messages", "invalid_value"),
                Arguments.of("empty messages", "{" + M + ",\"messages\":[]}", 400, "messages", "invalid_value"),
                Arguments.of("messages not a list", "{" + M + ",\"messages\":\"hi\"}", 400, "messages", "invalid_type"),
                Arguments.of("unknown role", "{" + M + ",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", 400, "messages[0].role", "invalid_value"),
                Arguments.of("tool message without its call id", "{" + M + ",\"messages\":[{\"role\":\"tool\",\"content\":\"hi\"}]}", 400, "messages[0].tool_call_id", "invalid_value"),
                Arguments.of("tool call without arguments", "{" + M + ",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}]}", 400, "messages[0].tool_calls[0]", "invalid_value"),
                Arguments.of("tool calls on a user message", "{" + M + ",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":[]}]}", 400, "messages[0].tool_calls", "invalid_value"),
                Arguments.of("content of wrong type", "{" + M + ",\"messages\":[{\"role\":\"user\",\"content\":5}]}", 400, "messages[0].content", "invalid_value"),
                Arguments.of("image content part", "{" + M + ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}", 400, "messages[0].content", "invalid_value"),
                Arguments.of("temperature as string", "{" + M + "," + MSGS + ",\"temperature\":\"hot\"}", 400, "temperature", "invalid_type"),
                Arguments.of("temperature 5", "{" + M + "," + MSGS + ",\"temperature\":5}", 400, "temperature", "invalid_value"),
                Arguments.of("top_p 0", "{" + M + "," + MSGS + ",\"top_p\":0}", 400, "top_p", "invalid_value"),
                Arguments.of("negative max_completion_tokens", "{" + M + "," + MSGS + ",\"max_completion_tokens\":-3}", 400, "max_completion_tokens", "invalid_value"),
                Arguments.of("negative max_tokens", "{" + M + "," + MSGS + ",\"max_tokens\":-3}", 400, "max_tokens", "invalid_value"),
                Arguments.of("max_tokens as an empty string", "{" + M + "," + MSGS + ",\"max_tokens\":\"\"}", 400, "max_tokens", "invalid_type"),
                Arguments.of("stream as an empty string", "{" + M + "," + MSGS + ",\"stream\":\"\"}", 400, "stream", "invalid_type"),
                Arguments.of("fractional max_tokens", "{" + M + "," + MSGS + ",\"max_tokens\":2.5}", 400, "max_tokens", "invalid_type"),
                Arguments.of("max_tokens past the context", "{" + M + "," + MSGS + ",\"max_tokens\":5000}", 400, "messages", "context_length_exceeded"),
                Arguments.of("n 0", "{" + M + "," + MSGS + ",\"n\":0}", 400, "n", "invalid_value"),
                Arguments.of("huge n", "{" + M + "," + MSGS + ",\"n\":1000}", 400, "n", "invalid_value"),
                Arguments.of("stop list too long", "{" + M + "," + MSGS + ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400, "stop", "invalid_value"),
                Arguments.of("stop of wrong type", "{" + M + "," + MSGS + ",\"stop\":7}", 400, "stop", "invalid_value"),
                Arguments.of("logit_bias out of range", "{" + M + "," + MSGS + ",\"logit_bias\":{\"5\":150}}", 400, "logit_bias", "invalid_value"),
                Arguments.of("logit_bias unknown token", "{" + M + "," + MSGS + ",\"logit_bias\":{\"999999\":1}}", 400, "logit_bias", "invalid_value"),
                Arguments.of("logit_bias key not an id", "{" + M + "," + MSGS + ",\"logit_bias\":{\"abc\":1}}", 400, "logit_bias", "invalid_value"),
                Arguments.of("presence_penalty 3", "{" + M + "," + MSGS + ",\"presence_penalty\":3}", 400, "presence_penalty", "invalid_value"),
                Arguments.of("top_logprobs without logprobs", "{" + M + "," + MSGS + ",\"top_logprobs\":3}", 400, "top_logprobs", "invalid_value"),
                Arguments.of("top_logprobs 50", "{" + M + "," + MSGS + ",\"logprobs\":true,\"top_logprobs\":50}", 400, "top_logprobs", "invalid_value"),
                Arguments.of("tool name with spaces", "{" + M + "," + MSGS + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a b\"}}]}", 400, "tools[0].function.name", "invalid_value"),
                Arguments.of("two tools of one name", "{" + M + "," + MSGS + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}", 400, "tools[1].function.name", "invalid_value"),
                Arguments.of("tool of another type", "{" + M + "," + MSGS + ",\"tools\":[{\"type\":\"code_interpreter\"}]}", 400, "tools[0].type", "invalid_value"),
                Arguments.of("tool parameters not an object schema", "{" + M + "," + MSGS + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"string\"}}}]}", 400, "tools[0].function.parameters", "invalid_value"),
                Arguments.of("tool parameters the grammar cannot enforce", "{" + M + "," + MSGS + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"format\":\"hostname\"}}}}}],\"tool_choice\":\"required\"}", 400, "tools", "invalid_value"),
                Arguments.of("tool_choice auto beside an array response format", "{" + M + "," + MSGS + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"array\"}}}}", 400, "tools", "invalid_value"),
                Arguments.of("left-recursive schema", "{" + M + "," + MSGS + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"anyOf\":[{\"$ref\":\"#\"},{\"type\":\"null\"}]}}}}", 400, "response_format.json_schema.schema", "invalid_value"),
                Arguments.of("malformed $ref", "{" + M + "," + MSGS + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"$ref\":\"#foo\"}}}}", 400, "response_format.json_schema.schema", "invalid_value"),
                Arguments.of("tool_choice naming no tool", "{" + M + "," + MSGS + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}}}", 400, "tool_choice", "invalid_value"),
                Arguments.of("tool_choice without tools", "{" + M + "," + MSGS + ",\"tool_choice\":\"required\"}", 400, "tool_choice", "invalid_value"),
                Arguments.of("unknown tool_choice", "{" + M + "," + MSGS + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":\"always\"}", 400, "tool_choice", "invalid_value"),
                Arguments.of("parallel_tool_calls as a string", "{" + M + "," + MSGS + ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"parallel_tool_calls\":\"yes\"}", 400, "parallel_tool_calls", "invalid_value"),
                Arguments.of("assistant message with audio", "{" + M + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\",\"audio\":{\"id\":\"a1\"}}]}", 400, "messages[1].audio", "invalid_value"),
                Arguments.of("assistant message with a function_call", "{" + M + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":null,\"function_call\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}", 400, "messages[1].function_call", "invalid_value"),
                Arguments.of("functions (deprecated)", "{" + M + "," + MSGS + ",\"functions\":[{\"name\":\"f\"}]}", 400, "functions", "invalid_value"),
                Arguments.of("json_schema without its json_schema", "{" + M + "," + MSGS + ",\"response_format\":{\"type\":\"json_schema\"}}", 400, "response_format.json_schema", "invalid_value"),
                Arguments.of("json_schema without a name", "{" + M + "," + MSGS + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{}}}}", 400, "response_format.json_schema.name", "invalid_value"),
                Arguments.of("unknown response_format type", "{" + M + "," + MSGS + ",\"response_format\":{\"type\":\"yaml\"}}", 400, "response_format.type", "invalid_value"),
                Arguments.of("schema keyword the grammar cannot enforce", "{" + M + "," + MSGS + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"array\",\"uniqueItems\":true}}}}}}", 400, "response_format.json_schema.schema", "invalid_value"),
                Arguments.of("schema with a dangling $ref", "{" + M + "," + MSGS + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"$ref\":\"#/$defs/x\"}}}}", 400, "response_format.json_schema.schema", "invalid_value"),
                Arguments.of("unknown field", "{" + M + "," + MSGS + ",\"temprature\":0.5}", 400, "temprature", "unknown_parameter"),
                Arguments.of("stream_options without stream", "{" + M + "," + MSGS + ",\"stream_options\":{\"include_usage\":true}}", 400, "stream_options", "invalid_value"),
                Arguments.of("ignore_eos as a string", "{" + M + "," + MSGS + ",\"ignore_eos\":\"yes\"}", 400, "ignore_eos", "invalid_type"),
                Arguments.of("threshold above 1", "{" + M + "," + MSGS + ",\"flexidepth\":{\"threshold\":1.5}}", 400, "flexidepth.threshold", "invalid_value"),
                Arguments.of("unknown flexidepth field", "{" + M + "," + MSGS + ",\"flexidepth\":{\"layers\":3}}", 400, "flexidepth.layers", "unknown_parameter"),
                Arguments.of("lone surrogate in a message", "{" + M + ",\"messages\":[{\"role\":\"user\",\"content\":\"a\\ud800b\"}]}", 400, "messages[0].content", "invalid_value"),
                Arguments.of("lone low surrogate in a stop string", "{" + M + "," + MSGS + ",\"stop\":[\"x\",\"\\udc00\"]}", 400, "stop[1]", "invalid_value"),
                Arguments.of("surrogates out of order", "{" + M + ",\"messages\":[{\"role\":\"user\",\"content\":\"\\ude00\\ud83d\"}]}", 400, "messages[0].content", "invalid_value"),
                Arguments.of("structured_outputs beside response_format", "{" + M + "," + MSGS + ",\"response_format\":{\"type\":\"json_object\"},\"structured_outputs\":{\"choice\":[\"a\"]}}", 400, "structured_outputs", "invalid_value"),
                Arguments.of("structured_outputs with two kinds", "{" + M + "," + MSGS + ",\"structured_outputs\":{\"choice\":[\"a\"],\"regex\":\"a\"}}", 400, "structured_outputs", "invalid_value"),
                Arguments.of("structured_outputs empty", "{" + M + "," + MSGS + ",\"structured_outputs\":{}}", 400, "structured_outputs", "invalid_value"),
                Arguments.of("structured_outputs grammar", "{" + M + "," + MSGS + ",\"structured_outputs\":{\"grammar\":\"root ::= x\"}}", 400, "structured_outputs.grammar", "invalid_value"),
                Arguments.of("structured_outputs unknown field", "{" + M + "," + MSGS + ",\"structured_outputs\":{\"cfg\":1}}", 400, "structured_outputs.cfg", "unknown_parameter"),
                Arguments.of("structured_outputs empty choice", "{" + M + "," + MSGS + ",\"structured_outputs\":{\"choice\":[]}}", 400, "structured_outputs.choice", "invalid_value"),
                Arguments.of("structured_outputs regex with a back-reference", "{" + M + "," + MSGS + ",\"structured_outputs\":{\"regex\":\"(a)\\\\1\"}}", 400, "structured_outputs.regex", "invalid_value"),
                Arguments.of("structured_outputs json text with a lone surrogate", "{" + M + "," + MSGS + ",\"structured_outputs\":{\"json\":\"{\\\"const\\\":\\\"\\\\ud800\\\"}\"}}", 400, "structured_outputs.json", "invalid_value"),
                Arguments.of("structured_outputs json text with trailing junk", "{" + M + "," + MSGS + ",\"structured_outputs\":{\"json\":\"{} x\"}}", 400, "structured_outputs.json", "invalid_value"),
                Arguments.of("structured_outputs json that is no JSON", "{" + M + "," + MSGS + ",\"structured_outputs\":{\"json\":\"{x\"}}", 400, "structured_outputs.json", "invalid_value"),
                Arguments.of("prompt too long", "{" + M + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(5000) + "\"}]}", 400, "messages", "context_length_exceeded"));
    }

    @ParameterizedTest(name = "chat: {0}")
    @MethodSource("chatCases")
    void chatRequestIsRefused(String name, String body, int status, String param, String code) {
        var response = given().contentType(ContentType.JSON).body(body).post("/v1/chat/completions").then()
                .statusCode(status)
                .contentType(ContentType.JSON)
                .body("error.message", notNullValue())
                .body("error.type", notNullValue())
                .body("error.code", equalTo(code));
        if (param != null) {
            response.body("error.param", equalTo(param));
        }
    }

    static Stream<Arguments> completionCases() {
        return Stream.of(
                Arguments.of("missing prompt", "{" + M + "}", "prompt"),
                Arguments.of("empty prompt list", "{" + M + ",\"prompt\":[]}", "prompt"),
                Arguments.of("token id outside the vocabulary", "{" + M + ",\"prompt\":[1,2,99999]}", "prompt"),
                Arguments.of("negative token id", "{" + M + ",\"prompt\":[[1],[-4]]}", "prompt[1]"),
                Arguments.of("mixed prompt list", "{" + M + ",\"prompt\":[\"a\",{\"b\":1}]}", "prompt[1]"),
                Arguments.of("suffix", "{" + M + ",\"prompt\":\"a\",\"suffix\":\"b\"}", "suffix"),
                Arguments.of("best_of above n", "{" + M + ",\"prompt\":\"a\",\"best_of\":3}", "best_of"),
                Arguments.of("logprobs 9", "{" + M + ",\"prompt\":\"a\",\"logprobs\":9}", "logprobs"),
                Arguments.of("lone surrogate in the prompt", "{" + M + ",\"prompt\":[\"ok\",\"x\\uDFFFy\"]}", "prompt[1]"),
                Arguments.of("max_tokens past the context", "{" + M + ",\"prompt\":\"a\",\"max_tokens\":5000}", "prompt"));
    }

    @ParameterizedTest(name = "completion: {0}")
    @MethodSource("completionCases")
    void completionRequestIsRefused(String name, String body, String param) {
        given().contentType(ContentType.JSON).body(body).post("/v1/completions").then()
                .statusCode(400).body("error.param", equalTo(param)).body("error.type", equalTo("invalid_request_error"));
    }

    @Test
    void bodyOverTheLimitIs413InOpenAiShape() {
        String big = "{" + M + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + "y".repeat(5 * 1024 * 1024) + "\"}]}";
        given().contentType(ContentType.JSON).body(big).post("/v1/chat/completions").then()
                .statusCode(413).body("error.code", equalTo("request_too_large"));
    }

    @Test
    void unknownModelOnModelsEndpointIs404() {
        given().get("/v1/models/nope").then().statusCode(404).body("error.code", equalTo("model_not_found"))
                .body("error.message", containsString("nope"));
    }

    /** Clients that write every optional field (generated ones, openai-python's None) send unsupported ones as null. */
    @Test
    void unsupportedFieldsSentAsNullAreAbsent() {
        given().contentType(ContentType.JSON).body("{" + M + "," + MSGS + ",\"max_tokens\":2,\"ignore_eos\":true,"
                        + "\"functions\":null,\"function_call\":null,\"audio\":null,\"modalities\":null,\"prediction\":null,"
                        + "\"reasoning_effort\":null,\"web_search_options\":null,\"metadata\":null,\"store\":null}")
                .post("/v1/chat/completions").then().statusCode(200).body("usage.completion_tokens", equalTo(2));
    }

    @Test
    void aSurrogatePairIsOneCharacterAndServed() {
        given().contentType(ContentType.JSON).body("{" + M + ",\"messages\":[{\"role\":\"user\",\"content\":"
                        + "\"\\ud83d\\ude00 and a literal \\\\ud800\"}],\"max_tokens\":2,\"ignore_eos\":true}")
                .post("/v1/chat/completions").then().statusCode(200).body("usage.completion_tokens", equalTo(2));
    }

    @Test
    void serviceStillServesAfterTheBadRequests() {
        given().contentType(ContentType.JSON).body("{" + M + "," + MSGS + ",\"max_tokens\":2,\"ignore_eos\":true}").post("/v1/chat/completions")
                .then().statusCode(200).body("usage.completion_tokens", equalTo(2));
        given().get("/q/health/ready").then().statusCode(200);
    }
}
