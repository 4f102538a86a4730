package io.flexiserve.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flexiserve.structured.ToolFormat;
import io.flexiserve.structured.ToolFunction;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A chat request's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}, checked.
 *
 * @param functions the callable functions, in the request's order
 * @param choice    {@code none}, {@code auto}, {@code required}, or {@code function:<name>} for the one function
 *                  that must be called
 * @param parallel  whether one answer may hold several calls
 * @param listed    the {@code tools} list as sent, for the chat template
 * @param format    how the reply writes calls: the chat template's format when it has one, else FlexiServe's
 */
record ToolSpec(List<ToolFunction> functions, String choice, boolean parallel, List<Map<String, Object>> listed,
                ToolFormat format) {

    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The request's tools, or null when it has none. */
    static ToolSpec parse(JsonNode tools, JsonNode toolChoice, JsonNode parallelToolCalls, ToolFormat format) {
        boolean none = tools == null || tools.isNull() || tools.isArray() && tools.isEmpty();
        if (none) {
            if (toolChoice != null && !toolChoice.isNull() && !"none".equals(toolChoice.asText())) {
                throw OpenAiException.invalid("tool_choice", "tool_choice is only allowed when tools are specified");
            }
            return null;
        }
        if (!tools.isArray()) {
            throw OpenAiException.invalid("tools", "tools must be a list of {\"type\": \"function\", \"function\": {...}}");
        }
        List<ToolFunction> functions = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < tools.size(); i++) {
            functions.add(function(tools.get(i), "tools[" + i + "]", names));
        }
        boolean parallel = true;
        if (parallelToolCalls != null && !parallelToolCalls.isNull()) {
            if (!parallelToolCalls.isBoolean()) {
                throw OpenAiException.invalid("parallel_tool_calls", "parallel_tool_calls must be a boolean");
            }
            parallel = parallelToolCalls.asBoolean();
        }
        List<Map<String, Object>> listed = new ArrayList<>();
        for (JsonNode t : tools) {
            listed.add(JSON.convertValue(t, Map.class));
        }
        return new ToolSpec(List.copyOf(functions), choice(toolChoice, names), parallel, List.copyOf(listed), format);
    }

    private static ToolFunction function(JsonNode tool, String param, Set<String> names) {
        if (!"function".equals(tool.path("type").asText())) {
            throw OpenAiException.invalid(param + ".type", "only tools of type 'function' are supported");
        }
        JsonNode f = tool.path("function");
        String name = f.path("name").asText("");
        if (!NAME.matcher(name).matches()) {
            throw OpenAiException.invalid(param + ".function.name", "a function name must be 1-64 letters, digits, "
                    + "underscores or dashes, got '" + name + "'");
        }
        if (!names.add(name)) {
            throw OpenAiException.invalid(param + ".function.name", "two tools are named '" + name + "'");
        }
        JsonNode parameters = f.get("parameters");
        if (parameters != null && !parameters.isNull()) {
            boolean object = parameters.isObject() && (parameters.path("type").asText("object").equals("object"));
            if (!object) {
                throw OpenAiException.invalid(param + ".function.parameters",
                        "function parameters must be a JSON Schema of type 'object'");
            }
            if (!parameters.has("type") && !parameters.has("anyOf") && !parameters.has("$ref")) {
                parameters = ((ObjectNode) parameters.deepCopy()).put("type", "object"); // {} takes an object
            }
            return new ToolFunction(name, parameters);
        }
        return new ToolFunction(name, null);
    }

    private static String choice(JsonNode choice, Set<String> names) {
        if (choice == null || choice.isNull()) {
            return "auto";
        }
        if (choice.isTextual()) {
            String c = choice.asText();
            if (!Set.of("none", "auto", "required").contains(c)) {
                throw OpenAiException.invalid("tool_choice", "tool_choice must be 'none', 'auto', 'required' or "
                        + "{\"type\": \"function\", \"function\": {\"name\": ...}}, got '" + c + "'");
            }
            return c;
        }
        String name = choice.path("function").path("name").asText("");
        if (!"function".equals(choice.path("type").asText()) || !names.contains(name)) {
            throw OpenAiException.invalid("tool_choice", "tool_choice names no function of tools: '" + name + "'");
        }
        return "function:" + name;
    }

    /** Whether {@code tools} (maybe null) lets the reply call a function: it is there and its choice is not none. */
    static boolean mayCall(ToolSpec tools) {
        return tools != null && !tools.choice.equals("none");
    }

    /** Whether one reply may hold several calls: asked for, and not a named function (called once, as vLLM calls it). */
    boolean severalCalls() {
        return parallel && !choice.startsWith("function:");
    }

    /** Whether the output is constrained to calls (required, or a named function). */
    boolean forced() {
        return !choice.equals("auto") && !choice.equals("none");
    }

    /** The functions the output may call: the named one when the choice names one. */
    List<ToolFunction> callable() {
        if (!choice.startsWith("function:")) {
            return functions;
        }
        return functions.stream().filter(f -> choice.equals("function:" + f.name())).toList();
    }
}
