package io.flexiserve.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import java.util.regex.Pattern;

/**
 * A chat request's {@code response_format}: {@code text} (nothing to enforce), {@code json_object} (any JSON
 * object) or {@code json_schema} (a value valid against {@code json_schema.schema}; {@code strict} or not, it is
 * always enforced).
 *
 * @param schema the schema of {@code json_schema}; null for {@code json_object}
 */
record ResponseFormat(JsonNode schema) {

    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    /** The format a request asks for, or null for plain text. */
    static ResponseFormat parse(JsonNode format) {
        if (format == null || format.isNull()) {
            return null;
        }
        if (!format.isObject() || !format.path("type").isTextual()) {
            throw OpenAiException.invalid("response_format", "response_format must be an object with a 'type'");
        }
        String type = format.get("type").asText();
        switch (type) {
            case "text":
                return null;
            case "json_object":
                return new ResponseFormat(null);
            case "json_schema":
                JsonNode spec = format.path("json_schema");
                if (!spec.isObject()) {
                    throw OpenAiException.invalid("response_format.json_schema",
                            "response_format of type json_schema needs a json_schema object with 'name' and 'schema'");
                }
                if (!spec.path("name").isTextual() || !NAME.matcher(spec.get("name").asText()).matches()) {
                    throw OpenAiException.invalid("response_format.json_schema.name",
                            "json_schema.name must be 1-64 letters, digits, underscores or dashes");
                }
                JsonNode schema = spec.get("schema");
                if (schema != null && !schema.isObject() && !schema.isBoolean()) {
                    throw OpenAiException.invalid("response_format.json_schema.schema", "json_schema.schema must be an object");
                }
                return new ResponseFormat(schema == null ? BooleanNode.TRUE : schema);
            default:
                throw OpenAiException.invalid("response_format.type",
                        "response_format.type must be 'text', 'json_object' or 'json_schema', got '" + type + "'");
        }
    }
}
