package io.flexiserve.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.flexiserve.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/** The {@code prompt} of a text completion in the four forms OpenAI allows, as token ids. */
final class PromptParser {

    private PromptParser() {
    }

    static List<CompletionsHandler.Prompt> parse(JsonNode prompt, Tokenizer tokenizer, int vocabSize, boolean echo,
                                                 int maxPrompts) {
        if (prompt == null || prompt.isNull()) {
            throw OpenAiException.invalid("prompt", "prompt is required");
        }
        List<CompletionsHandler.Prompt> out = new ArrayList<>();
        if (prompt.isTextual()) {
            out.add(text(prompt.asText(), tokenizer, echo));
        } else if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isIntegralNumber()) {
            out.add(ids(prompt, "prompt", tokenizer, vocabSize, echo));
        } else if (prompt.isArray() && !prompt.isEmpty()) {
            if (prompt.size() > maxPrompts) {
                throw OpenAiException.invalid("prompt", "at most " + maxPrompts + " prompts per request");
            }
            for (int i = 0; i < prompt.size(); i++) {
                JsonNode p = prompt.get(i);
                if (p.isTextual()) {
                    out.add(text(p.asText(), tokenizer, echo));
                } else if (p.isArray()) {
                    out.add(ids(p, "prompt[" + i + "]", tokenizer, vocabSize, echo));
                } else {
                    throw OpenAiException.invalid("prompt[" + i + "]", "each prompt must be a string or a list of token ids");
                }
            }
        } else {
            throw OpenAiException.invalid("prompt", "prompt must be a string, a list of strings, a list of token ids or a list of such lists");
        }
        return out;
    }

    private static CompletionsHandler.Prompt text(String text, Tokenizer tokenizer, boolean echo) {
        int[] ids = tokenizer.encodeWithSpecialTokens(text);
        if (ids.length == 0) {
            throw OpenAiException.invalid("prompt", "the prompt is empty");
        }
        return new CompletionsHandler.Prompt(ids, echo ? text : "");
    }

    private static CompletionsHandler.Prompt ids(JsonNode list, String param, Tokenizer tokenizer, int vocabSize, boolean echo) {
        if (list.isEmpty()) {
            throw OpenAiException.invalid(param, "a token id prompt must not be empty");
        }
        int[] ids = new int[list.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = list.get(i);
            if (!id.isIntegralNumber() || id.asLong() < 0 || id.asLong() >= vocabSize) {
                throw OpenAiException.invalid(param, "token ids must be integers in [0, " + vocabSize + "), got " + id);
            }
            ids[i] = id.asInt();
        }
        return new CompletionsHandler.Prompt(ids, echo ? tokenizer.decode(ids) : "");
    }
}
