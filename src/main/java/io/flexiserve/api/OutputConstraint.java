package io.flexiserve.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/**
 * vLLM's {@code structured_outputs} (chat and completions, sent as an extra body field): the whole output is one of
 * {@code choice}, matches {@code regex} whole, is a value of the JSON Schema {@code json} (an object, or its text),
 * or with {@code json_object} any JSON object. Exactly one of them; vLLM's {@code grammar}, {@code structural_tag}
 * and {@code whitespace_pattern} are refused (unknown fields too, as everywhere).
 */
record OutputConstraint(JsonNode json, String regex, List<String> choice, @JsonProperty("json_object") Boolean jsonObject,
                        JsonNode grammar, @JsonProperty("structural_tag") JsonNode structuralTag,
                        @JsonProperty("whitespace_pattern") String whitespacePattern) {

    static final String FIELD = "structured_outputs";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** What kind of constraint it is, checked: {@code json}, {@code regex}, {@code choice} or {@code json_object}. */
    String kind() {
        refuse("grammar", grammar);
        refuse("structural_tag", structuralTag);
        refuse("whitespace_pattern", whitespacePattern);
        List<String> given = new ArrayList<>();
        if (json != null && !json.isNull()) {
            given.add("json");
        }
        if (regex != null) {
            given.add("regex");
        }
        if (choice != null) {
            given.add("choice");
        }
        if (Boolean.TRUE.equals(jsonObject)) {
            given.add("json_object");
        }
        if (given.size() != 1) {
            throw OpenAiException.invalid(FIELD, "structured_outputs needs exactly one of json, regex, choice and"
                    + " json_object" + (given.isEmpty() ? "" : ", got " + String.join(" and ", given)));
        }
        if (choice != null && (choice.isEmpty() || choice.contains(null))) {
            throw OpenAiException.invalid(FIELD + ".choice", "choice must be a non-empty list of strings");
        }
        return given.get(0);
    }

    /** The JSON Schema of {@code json}: the object itself, or parsed from its text. */
    JsonNode schema() {
        if (!json.isTextual()) {
            if (!json.isObject() && !json.isBoolean()) {
                throw OpenAiException.invalid(FIELD + ".json", "json must be a JSON Schema (an object) or its text");
            }
            return json;
        }
        try {
            JsonNode parsed = JSON.readTree(json.asText());
            if (parsed == null || !parsed.isObject() && !parsed.isBoolean()) {
                throw OpenAiException.invalid(FIELD + ".json", "json must be a JSON Schema (an object) or its text");
            }
            String surrogate = ApiJson.loneSurrogate(parsed, ""); // the body's own check saw only the text
            if (surrogate != null) {
                throw OpenAiException.invalid(FIELD + ".json", "the schema's text holds a lone UTF-16 surrogate at "
                        + surrogate);
            }
            return parsed;
        } catch (JsonProcessingException e) {
            throw OpenAiException.invalid(FIELD + ".json", "json is text that is no JSON: " + e.getOriginalMessage());
        }
    }

    private static void refuse(String field, Object value) {
        if (value != null && !(value instanceof JsonNode node && node.isNull())) {
            throw OpenAiException.invalid(FIELD + "." + field, "structured_outputs." + field + " is not supported; use"
                    + " json, regex or choice");
        }
    }
}
