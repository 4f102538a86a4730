package io.flexiserve.finetune;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flexiserve.tokenizer.ChatMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A JSONL training file, one conversation per line, in either shape README.md ("Fine-tuning the routers") names: tulu-style
 * {@code {"messages": [{"role", "content"}, ...]}} or ShareGPT {@code {"conversations": [{"from", "value"}, ...]}}
 * ({@code human}/{@code gpt}; ShareGPT system turns are dropped, as the recipe's stage 2 does). Every line is
 * checked; problems carry their 1-based line number.
 */
public final class TrainingFile {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");
    private static final Map<String, String> SHAREGPT_ROLES = Map.of("human", "user", "user", "user", "gpt", "assistant",
            "assistant", "assistant");
    /** Problems listed in an error message; the rest are counted. */
    private static final int SHOWN_PROBLEMS = 10;

    /** One bad line. */
    public record Problem(int line, String reason) {
        @Override
        public String toString() {
            return "line " + line + ": " + reason;
        }
    }

    /** What a file holds: the conversations of its good lines and the problems of the others. */
    public record Contents(List<List<ChatMessage>> conversations, List<Problem> problems) {

        /** One message naming the first problems and counting the rest. */
        public String summary() {
            StringBuilder sb = new StringBuilder();
            sb.append(problems.size()).append(problems.size() == 1 ? " invalid line: " : " invalid lines: ");
            for (int i = 0; i < Math.min(SHOWN_PROBLEMS, problems.size()); i++) {
                sb.append(i == 0 ? "" : "; ").append(problems.get(i));
            }
            if (problems.size() > SHOWN_PROBLEMS) {
                sb.append("; and ").append(problems.size() - SHOWN_PROBLEMS).append(" more");
            }
            return sb.toString();
        }
    }

    /**
     * Heap bytes that reading, checking and tokenizing a training file takes per byte of the file, about: the lines'
     * strings, the conversations kept, and the tokenized examples (one int per token and its label).
     */
    static final int HEAP_PER_FILE_BYTE = 4;

    private TrainingFile() {
    }

    private static long heapRoom() {
        Runtime runtime = Runtime.getRuntime();
        return runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
    }

    /**
     * Why {@code file} cannot be read into this JVM's heap, or null when it can: a file larger than what the heap has
     * room for would end the service (out of memory) at every start that validates it again.
     */
    public static String tooLarge(Path file) throws IOException {
        long size = Files.size(file);
        long room = heapRoom();
        if (size > room / HEAP_PER_FILE_BYTE) {
            System.gc(); // what looked used may be garbage: asked once, for a file that would not fit otherwise
            room = heapRoom();
        }
        if (size > room / HEAP_PER_FILE_BYTE) {
            return String.format(java.util.Locale.ROOT, "The training file is %d MB; reading and tokenizing it takes "
                    + "about %d MB of memory and the service has %d MB free (its Java heap, -Xmx). Split the file, or "
                    + "give the service more memory.", size >> 20, size * HEAP_PER_FILE_BYTE >> 20, room >> 20);
        }
        return null;
    }

    /** Reads and checks every line of {@code file}. */
    public static Contents read(Path file) throws IOException {
        List<List<ChatMessage>> conversations = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    conversations.add(conversation(line));
                } catch (IllegalArgumentException e) {
                    problems.add(new Problem(number, e.getMessage()));
                }
            }
        } catch (CharacterCodingException e) {
            problems.add(new Problem(0, "the file is not UTF-8 text"));
        }
        if (conversations.isEmpty() && problems.isEmpty()) {
            problems.add(new Problem(0, "the file holds no conversations"));
        }
        return new Contents(conversations, problems);
    }

    static List<ChatMessage> conversation(String line) {
        JsonNode root;
        try {
            root = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        if (root.has("messages")) {
            return messages(root.get("messages"), "messages", "role", "content", ROLES, false);
        }
        if (root.has("conversations")) {
            return messages(root.get("conversations"), "conversations", "from", "value", SHAREGPT_ROLES.keySet(), true);
        }
        throw new IllegalArgumentException("expected a 'messages' list (or ShareGPT 'conversations')");
    }

    private static List<ChatMessage> messages(JsonNode list, String key, String roleKey, String textKey,
                                              Set<String> roles, boolean shareGpt) {
        if (!list.isArray() || list.isEmpty()) {
            throw new IllegalArgumentException("'" + key + "' must be a non-empty list");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String where = key + "[" + i + "]";
            if (!m.isObject() || !m.path(roleKey).isTextual() || !m.path(textKey).isTextual()) {
                throw new IllegalArgumentException(where + " needs string '" + roleKey + "' and '" + textKey + "'");
            }
            String role = m.get(roleKey).asText();
            if (shareGpt && role.equals("system")) {
                continue;
            }
            if (!roles.contains(role)) {
                throw new IllegalArgumentException(where + " has unknown " + roleKey + " '" + role + "' (expected one of "
                        + roles.stream().sorted().toList() + ")");
            }
            out.add(new ChatMessage(shareGpt ? SHAREGPT_ROLES.get(role) : role, m.get(textKey).asText()));
        }
        if (out.stream().noneMatch(m -> m.role().equals("assistant"))) {
            throw new IllegalArgumentException("'" + key + "' has no assistant turn to learn from");
        }
        return out;
    }
}
