package io.flexiserve.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.flexiserve.engine.TokenConstraint;
import io.flexiserve.structured.Grammar;
import io.flexiserve.structured.Matcher;
import io.flexiserve.structured.SchemaException;
import io.flexiserve.structured.TokenVocabulary;
import io.flexiserve.tokenizer.Tokenizer;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Function;

/**
 * The grammars of structured outputs and tool calls, compiled once per model and format and kept (with the masks
 * they have cached) for the requests that repeat them, as vLLM keeps compiled grammars; and each tokenizer's
 * vocabulary, sorted once.
 */
@ApplicationScoped
public class StructuredOutputs {

    private static final int CACHED_GRAMMARS = 32;
    private static final JsonNode ANY_OBJECT = JsonNodeFactory.instance.objectNode().put("type", "object");

    private final Map<Tokenizer, TokenVocabulary> vocabularies = Collections.synchronizedMap(new WeakHashMap<>());
    private final Map<String, Grammar> grammars = Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Grammar> eldest) {
            return size() > CACHED_GRAMMARS;
        }
    });

    /**
     * The grammar a chat request's output must follow, or null when it is free: forced tool calls, tool choice
     * {@code auto} (calls, or an answer in the response format), or the response format alone.
     */
    Grammar grammar(ModelEndpoint model, ResponseFormat format, ToolSpec tools) {
        if (ToolSpec.mayCall(tools)) {
            JsonNode answer = format == null ? null : format.schema() != null ? format.schema() : ANY_OBJECT;
            String key = "tools\n" + tools.format() + "\n" + tools.choice() + "\n" + tools.severalCalls() + "\n"
                    + tools.functions() + "\n" + answer;
            return cached(model, key, v -> Grammar.toolCalls(tools.callable(), tools.severalCalls(), !tools.forced(),
                    answer, tools.format(), v), "tools");
        }
        if (format == null) {
            return null;
        }
        if (format.schema() == null) {
            return cached(model, "json_object", Grammar::jsonObject, "response_format");
        }
        return cached(model, "json_schema\n" + format.schema(), v -> Grammar.jsonSchema(format.schema(), v),
                "response_format.json_schema.schema");
    }

    /** The grammar of a request's {@code structured_outputs} (vLLM's field: {@link OutputConstraint}). */
    Grammar grammar(ModelEndpoint model, OutputConstraint constraint) {
        String field = OutputConstraint.FIELD;
        return switch (constraint.kind()) {
            case "json" -> {
                JsonNode schema = constraint.schema();
                yield cached(model, "json_schema\n" + schema, v -> Grammar.jsonSchema(schema, v), field + ".json");
            }
            case "regex" -> cached(model, "regex\n" + constraint.regex(), v -> Grammar.regex(constraint.regex(), v),
                    field + ".regex");
            case "choice" -> { // keyed by the list as JSON: ["a, b"] and ["a", "b"] are two grammars
                ArrayNode key = JsonNodeFactory.instance.arrayNode();
                constraint.choice().forEach(key::add);
                yield cached(model, "choice\n" + key, v -> Grammar.choice(constraint.choice(), v), field + ".choice");
            }
            default -> cached(model, "json_object", Grammar::jsonObject, field); // json_object
        };
    }

    private Grammar cached(ModelEndpoint model, String key, Function<TokenVocabulary, Grammar> compile, String param) {
        String fullKey = model.name() + "\n" + key;
        Grammar grammar = grammars.get(fullKey);
        if (grammar != null) {
            return grammar;
        }
        try {
            grammar = compile.apply(vocabulary(model));
        } catch (SchemaException e) {
            throw OpenAiException.invalid(param, param + " cannot be enforced: " + e.getMessage());
        }
        grammars.put(fullKey, grammar);
        return grammar;
    }

    private TokenVocabulary vocabulary(ModelEndpoint model) {
        Tokenizer tokenizer = model.tokenizer();
        return vocabularies.computeIfAbsent(tokenizer,
                t -> TokenVocabulary.of(model.vocabSize(), t::tokenBytes, t::special));
    }

    /** The engine's view of one output's matcher. */
    static TokenConstraint constraint(Grammar grammar, int[] endIds) {
        Matcher matcher = grammar.matcher(endIds);
        return new TokenConstraint() {
            @Override
            public boolean mask(float[] logits) {
                try {
                    return matcher.mask(logits);
                } catch (StackOverflowError e) { // this output's alone: the engine and the other sequences go on
                    throw new IllegalStateException("the structured output nests too deeply to follow", e);
                }
            }

            @Override
            public void accept(int token) {
                try {
                    matcher.accept(token);
                } catch (StackOverflowError e) {
                    throw new IllegalStateException("the structured output nests too deeply to follow", e);
                }
            }
        };
    }
}
