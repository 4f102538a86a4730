package io.flexiserve.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flexiserve.structured.ToolFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Reads one choice's text as it streams and turns its tool calls, in FlexiServe's format
 * {@code [{"name": "f", "arguments": {...}}, ...]} or a chat template's {@code {"name": "f", "parameters": {...}}}
 * (the grammar guarantees the shape; {@link ToolFormat}), into OpenAI's {@code tool_calls}: a call's index, id and
 * name as soon as the name is complete, then its arguments text in fragments, exactly as the model wrote them.
 * Under {@code tool_choice: auto} a reply whose first non-blank character does not open calls is an answer, passed
 * through as content.
 */
final class ToolCallScanner {

    /** A tool call as far as it is known. */
    static final class Call {
        final String id = "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
        String name;
        final StringBuilder arguments = new StringBuilder();
    }

    /** What a piece of text adds: content, and call fragments (index, and id and name on a call's first). */
    record Piece(String content, List<Fragment> fragments) {
    }

    /** A call's first fragment carries its id and name; later ones only text of its arguments. */
    record Fragment(int index, String id, String name, String arguments) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private enum Mode { UNDECIDED, ANSWER, CALLS }

    private final ToolFormat format;
    private final List<Call> calls = new ArrayList<>();
    private final StringBuilder blank = new StringBuilder(); // leading whitespace while undecided
    private Mode mode;
    private int depth;            // 0 outside the array, 1 in it (or between calls), 2 in a call, more in its arguments
    private boolean inString;
    private boolean escape;
    private boolean valuePending; // after "arguments": before its first character
    private boolean inArguments;
    private String key;
    private StringBuilder string; // the key or name being read

    ToolCallScanner(boolean mayAnswer, ToolFormat format) {
        this.mode = mayAnswer ? Mode.UNDECIDED : Mode.CALLS;
        this.format = format;
    }

    Piece feed(String text) {
        StringBuilder content = new StringBuilder();
        List<Fragment> fragments = new ArrayList<>();
        StringBuilder args = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (mode == Mode.ANSWER) {
                content.append(text, i, text.length());
                break;
            }
            if (mode == Mode.UNDECIDED) {
                if (blank(c)) {
                    blank.append(c);
                    continue;
                }
                mode = c == format.opener() ? Mode.CALLS : Mode.ANSWER;
                if (mode == Mode.ANSWER) {
                    content.append(blank).append(text, i, text.length());
                    break;
                }
            }
            if (inArguments) {
                args.append(c);
                arguments(c);
                if (!inArguments) {
                    flush(args, fragments);
                }
                continue;
            }
            structure(c, fragments);
        }
        flush(args, fragments);
        return new Piece(content.toString(), fragments);
    }

    private void flush(StringBuilder args, List<Fragment> fragments) {
        if (args.length() > 0) {
            Call call = calls.get(calls.size() - 1);
            call.arguments.append(args);
            fragments.add(new Fragment(calls.size() - 1, null, null, args.toString()));
            args.setLength(0);
        }
    }

    /** A character of the arguments value: tracked only to find where the value ends. */
    private void arguments(char c) {
        if (inString) {
            if (escape) {
                escape = false;
            } else if (c == '\\') {
                escape = true;
            } else if (c == '"') {
                inString = false;
            }
        } else if (c == '"') {
            inString = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
            inArguments = depth > 2;
        }
    }

    /** A character outside the arguments: the array, a call's braces, its keys and its name. */
    private void structure(char c, List<Fragment> fragments) {
        if (inString) {
            if (escape) {
                escape = false;
                string.append(c);
            } else if (c == '\\') {
                escape = true;
                string.append(c);
            } else if (c == '"') {
                inString = false;
                endString(fragments);
            } else {
                string.append(c);
            }
            return;
        }
        if (valuePending && !blank(c)) {
            valuePending = false;
            inArguments = true;
            calls.get(calls.size() - 1).arguments.append(c);
            fragments.add(new Fragment(calls.size() - 1, null, null, String.valueOf(c)));
            if (c == '{' || c == '[') {
                depth++;
            }
            return;
        }
        switch (c) {
            case '[' -> depth = Math.max(depth, 1);
            case '{' -> {
                depth = 2;
                calls.add(new Call());
                key = null;
            }
            case '}' -> depth = 1;
            case ']' -> depth = 0;
            case '"' -> {
                inString = true;
                string = new StringBuilder();
            }
            case ':' -> valuePending = format.argumentsKey().equals(key);
            default -> { } // whitespace and commas
        }
    }

    /** JSON's whitespace as the grammar allows it between tokens (not every Unicode space). */
    static boolean blank(char c) {
        return c == ' ' || c == '\n' || c == '\t';
    }

    private void endString(List<Fragment> fragments) {
        String value = unescape(string.toString());
        if (key == null) {
            key = value;
            return;
        }
        if (key.equals("name")) {
            Call call = calls.get(calls.size() - 1);
            call.name = value;
            fragments.add(new Fragment(calls.size() - 1, call.id, value, ""));
        }
        key = null;
    }

    private static String unescape(String raw) {
        try {
            return JSON.readValue("\"" + raw + "\"", String.class);
        } catch (JsonProcessingException e) {
            return raw;
        }
    }

    /** Whether this reply is tool calls (false while undecided or for an answer). */
    boolean isCalls() {
        return mode == Mode.CALLS;
    }

    /** The calls read so far. */
    List<Call> calls() {
        return calls;
    }
}
