package io.flexiserve.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.type.LogicalType;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * JSON in and out of the OpenAI endpoints. Reading is strict, as OpenAI is: unknown fields, strings where
 * numbers belong, fractions where integers belong and trailing garbage are all refused with a 400 that
 * names the field.
 */
@ApplicationScoped
public class ApiJson {

    /** A JSON escape of a UTF-16 surrogate: paired, it is half of one character; alone, it is none. */
    private static final Pattern SURROGATE_ESCAPE = Pattern.compile("\\\\u[dD][89a-fA-F]");

    private final ObjectMapper mapper = strictMapper();

    private static ObjectMapper strictMapper() {
        ObjectMapper mapper = new ObjectMapper()
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        mapper.coercionConfigDefaults()
                .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail); // "" is no number: not "unset"
        mapper.coercionConfigFor(LogicalType.Float).setCoercion(CoercionInputShape.Integer, CoercionAction.TryConvert);
        return mapper;
    }

    /** Parses a request body into {@code type}, or throws a 400 in OpenAI's shape. */
    public <T> T read(String body, Class<T> type) {
        if (body == null || body.isBlank()) {
            throw new OpenAiException(400, "invalid_request_error", "invalid_json", null, "The request body is empty; send a JSON object.");
        }
        try {
            T value = mapper.readValue(body, type);
            if (value == null) {
                throw new OpenAiException(400, "invalid_request_error", "invalid_json", null, "The request body must be a JSON object.");
            }
            if (SURROGATE_ESCAPE.matcher(body).find()) { // rare: only then is the body read again, as a tree
                String path = loneSurrogate(mapper.readTree(body), "");
                if (path != null) {
                    throw new OpenAiException(400, "invalid_request_error", "invalid_value", path, "Invalid value for '"
                            + path + "': it holds a lone UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair),"
                            + " which is no character.");
                }
            }
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw new OpenAiException(400, "invalid_request_error", "unknown_parameter", path(e),
                    "Unrecognized request argument supplied: " + path(e));
        } catch (MismatchedInputException e) {
            String path = path(e);
            throw new OpenAiException(400, "invalid_request_error", "invalid_type", path,
                    "Invalid type for '" + path + "': expected " + jsonType(e.getTargetType()) + ".");
        } catch (JsonMappingException e) {
            String path = path(e);
            throw new OpenAiException(400, "invalid_request_error", "invalid_value", path, "Invalid value for '" + path + "'.");
        } catch (JsonProcessingException e) {
            throw new OpenAiException(400, "invalid_request_error", "invalid_json", null,
                    "We could not parse the JSON body of your request: " + e.getOriginalMessage());
        }
    }

    /**
     * Where in {@code node} a string or key holds a lone surrogate (as a name path like {@code messages[0].content};
     * {@code body} for the root), or null. Such text cannot be written as UTF-8: encoding it would silently turn it
     * into another character.
     */
    static String loneSurrogate(JsonNode node, String path) {
        if (node.isTextual()) {
            return hasLoneSurrogate(node.textValue()) ? (path.isEmpty() ? "body" : path) : null;
        }
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                String found = loneSurrogate(node.get(i), path + "[" + i + "]");
                if (found != null) {
                    return found;
                }
            }
        } else if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                String at = path.isEmpty() ? field.getKey() : path + "." + field.getKey();
                String found = hasLoneSurrogate(field.getKey()) ? at : loneSurrogate(field.getValue(), at);
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }

    private static boolean hasLoneSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    public String write(Object value) {
        try {
            return mapper.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The JSON name of what a Java field accepts, so messages never show class names. */
    private static String jsonType(Class<?> target) {
        if (target == null) {
            return "another type";
        }
        if (target == Integer.class || target == int.class || target == Long.class || target == long.class) {
            return "an integer";
        }
        if (Number.class.isAssignableFrom(target) || target == double.class) {
            return "a number";
        }
        if (target == Boolean.class || target == boolean.class) {
            return "a boolean";
        }
        if (target == String.class) {
            return "a string";
        }
        if (java.util.Collection.class.isAssignableFrom(target) || target.isArray()) {
            return "an array";
        }
        return "an object";
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                sb.append(sb.length() == 0 ? "" : ".").append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.length() == 0 ? "body" : sb.toString();
    }
}
