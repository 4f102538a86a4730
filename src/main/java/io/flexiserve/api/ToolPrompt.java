package io.flexiserve.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flexiserve.tokenizer.ChatMessage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tools for chat templates that have no tool format (Llama 3 Instruct's): the tool list and FlexiServe's call
 * format described in a system message, and earlier calls written back into the conversation in that format, so
 * that the model sees its own calls as it would have written them. Templates with a tool format (Llama 3.1's) get
 * the {@code tools} list and the calls themselves instead ({@link #forTemplate}).
 */
final class ToolPrompt {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ToolPrompt() {
    }

    /** The system message that lists the tools and says how to call them. */
    static String describe(ToolSpec tools) {
        StringBuilder sb = new StringBuilder();
        sb.append("You can call the following functions. Each is described by its name, what it does and a JSON Schema ")
                .append("of its arguments:\n");
        for (Map<String, Object> tool : tools.listed()) {
            sb.append(json(tool.get("function"))).append('\n');
        }
        sb.append("\nTo call functions, reply with only a JSON array of calls and no other text, in this format:\n")
                .append("[{\"name\": \"<function name>\", \"arguments\": {<the arguments as a JSON object>}}]\n");
        sb.append(tools.severalCalls() ? "You may call several functions in one reply.\n" : "Call at most one function per reply.\n");
        String choice = tools.choice();
        if (choice.equals("required")) {
            sb.append("You must call at least one function now.\n");
        } else if (choice.startsWith("function:")) {
            sb.append("You must call the function ").append(choice.substring("function:".length())).append(" now.\n");
        } else {
            sb.append("If no function is needed, answer the user directly in plain text (not starting with '[').\n");
        }
        return sb.append("The results of your calls are given to you in messages from the tool role.").toString();
    }

    /** The conversation with the tool description joined to its first system message (or opening it). */
    static List<ChatMessage> withTools(List<ChatMessage> messages, ToolSpec tools) {
        List<ChatMessage> out = new ArrayList<>(plain(messages));
        String description = describe(tools);
        if (!out.isEmpty() && out.get(0).role().equals("system")) {
            out.set(0, new ChatMessage("system", out.get(0).content() + "\n\n" + description));
        } else {
            out.add(0, new ChatMessage("system", description));
        }
        return out;
    }

    /** Assistant calls as the text of the call format; a tool's answer as a message of the tool role. */
    static List<ChatMessage> plain(List<ChatMessage> messages) {
        List<ChatMessage> out = new ArrayList<>();
        for (ChatMessage m : messages) {
            if (m.toolCalls() == null) {
                out.add(new ChatMessage(m.role(), m.content()));
                continue;
            }
            ArrayNode calls = JSON.createArrayNode();
            for (Map<String, Object> call : m.toolCalls()) {
                @SuppressWarnings("unchecked")
                Map<String, Object> function = (Map<String, Object>) call.get("function");
                ObjectNode c = calls.addObject();
                c.put("name", (String) function.get("name"));
                c.set("arguments", arguments((String) function.get("arguments")));
            }
            String text = m.content() == null || m.content().isEmpty() ? calls.toString() : m.content() + "\n" + calls;
            out.add(new ChatMessage(m.role(), text));
        }
        return out;
    }

    /** For a template with a tool format: calls' arguments as objects, as transformers' templates expect them. */
    static List<ChatMessage> forTemplate(List<ChatMessage> messages) {
        List<ChatMessage> out = new ArrayList<>();
        for (ChatMessage m : messages) {
            if (m.toolCalls() == null) {
                out.add(m);
                continue;
            }
            List<Map<String, Object>> calls = new ArrayList<>();
            for (Map<String, Object> call : m.toolCalls()) {
                Map<String, Object> copy = new LinkedHashMap<>(call);
                @SuppressWarnings("unchecked")
                Map<String, Object> function = new LinkedHashMap<>((Map<String, Object>) call.get("function"));
                function.put("arguments", JSON.convertValue(arguments((String) function.get("arguments")), Object.class));
                copy.put("function", function);
                calls.add(copy);
            }
            out.add(new ChatMessage(m.role(), m.content(), calls, m.toolCallId()));
        }
        return out;
    }

    /** A call's arguments string as JSON; a string that is not JSON stays a JSON string. */
    private static JsonNode arguments(String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            return JSON.getNodeFactory().textNode(text);
        }
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
