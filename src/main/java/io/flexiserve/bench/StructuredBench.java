package io.flexiserve.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flexiserve.engine.Engine;
import io.flexiserve.engine.TokenConstraint;
import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.structured.Grammar;
import io.flexiserve.structured.Matcher;
import io.flexiserve.structured.TokenVocabulary;
import io.flexiserve.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a JSON Schema costs a decode: engine tokens/s with and without the schema at each concurrency (side by
 * side in every round, the best round counted), and the time its constraint takes per token (mask and follow), set
 * against the unconstrained step; once with the schema's masks cached (a schema served before) and once without
 * (its first request). Also the one-time costs: sorting the vocabulary and compiling the schema.
 */
final class StructuredBench {

    /**
     * Objects of strings (one with a maxLength, one a date), bounded integers, enums and arrays, in an array that may
     * go on: every kind of matcher state.
     */
    static final String SCHEMA = """
            {"type": "array", "items": {"type": "object", "properties": {
              "name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 120},
              "role": {"enum": ["admin", "user", "guest"]}, "code": {"type": "string", "maxLength": 12},
              "born": {"type": "string", "format": "date"}, "tags": {"type": "array", "items": {"type": "string"}},
              "score": {"type": ["number", "null"]}},
             "required": ["name", "age", "role", "code", "born", "tags", "score"], "additionalProperties": false},
             "minItems": 1}
            """;

    private final FlexiDepthModel model;
    private final Tokenizer tokenizer;
    private final DecodeBench decode;
    private final int rounds;

    StructuredBench(FlexiDepthModel model, Tokenizer tokenizer, int tokens, int rounds) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.decode = new DecodeBench(model, tokens);
        this.rounds = rounds;
    }

    Map<String, Object> run(int[] concurrency) throws Exception {
        Map<String, Object> report = new LinkedHashMap<>();
        long start = System.nanoTime();
        TokenVocabulary vocabulary = TokenVocabulary.of(model.config().vocabSize(), tokenizer::tokenBytes, tokenizer::special);
        report.put("vocabulary_sort_ms", ms(System.nanoTime() - start));
        JsonNode schema = new ObjectMapper().readTree(SCHEMA);
        start = System.nanoTime();
        Grammar grammar = Grammar.jsonSchema(schema, vocabulary);
        report.put("schema_compile_ms", ms(System.nanoTime() - start));
        report.put("mask_us", masks(schema, vocabulary));
        for (int sequences : concurrency) {
            Map<String, Object> level = new LinkedHashMap<>();
            try (Engine engine = decode.engine(sequences)) {
                decode.constrained(engine, sequences, () -> null); // warm-up: the kernels, then the matcher's code
                decode.constrained(engine, sequences, () -> new Timed().wrap(grammar.matcher(new int[0])));
                Grammar fresh = Grammar.jsonSchema(schema, vocabulary); // a schema's first request: no mask cached
                Timed cold = new Timed();
                DecodeBench.Result first = decode.constrained(engine, sequences, () -> cold.wrap(fresh.matcher(new int[0])));
                DecodeBench.Result free = null;
                DecodeBench.Result bound = null;
                Timed best = null;
                for (int round = 0; round < rounds; round++) {
                    DecodeBench.Result f = decode.constrained(engine, sequences, () -> null);
                    Timed timed = new Timed();
                    DecodeBench.Result b = decode.constrained(engine, sequences, () -> timed.wrap(grammar.matcher(new int[0])));
                    free = free == null || f.tokensPerSecond() > free.tokensPerSecond() ? f : free;
                    if (bound == null || b.tokensPerSecond() > bound.tokensPerSecond()) {
                        bound = b;
                        best = timed;
                    }
                }
                double stepMs = 1000.0 * sequences / free.tokensPerSecond(); // one step, all sequences
                double maskMs = best.nanos / 1e6 / Math.max(1, best.tokens) * sequences; // the masks of one step
                level.put("tokens_s_free", round(free.tokensPerSecond()));
                level.put("tokens_s_schema", round(bound.tokensPerSecond()));
                level.put("schema_over_free", round(bound.tokensPerSecond() / free.tokensPerSecond()));
                level.put("constraint_us_per_token", round(best.nanos / 1e3 / Math.max(1, best.tokens)));
                level.put("first_request_tokens_s_schema", round(first.tokensPerSecond()));
                level.put("first_request_constraint_us_per_token", round(cold.nanos / 1e3 / Math.max(1, cold.tokens)));
                level.put("constraint_share_of_free_step", round(maskMs / stepMs));
                level.put("constrained_tokens_per_sequence", round((double) best.tokens / sequences));
            }
            System.err.printf("structured, %d sequences: %s%n", sequences, level);
            report.put("sequences_" + sequences, level);
        }
        return report;
    }

    /**
     * One mask at a few points of an output, computed (a walk over the vocabulary) and then found cached: the
     * median of 21 tries each, after a warm-up of the code.
     */
    private Map<String, Object> masks(JsonNode schema, TokenVocabulary vocabulary) {
        String role = "[{\"name\": \"Al\", \"age\": 12, \"role\": \"";
        String[] points = {"", "[{\"name\": \"Al", "[{\"name\": \"Al\", \"age\": ", "[{\"name\": \"Al\", \"age\": 12",
            role + "ad", role + "admin\", \"code\": \"x1", role + "admin\", \"code\": \"\", \"born\": \"1999-0"};
        Map<String, Object> out = new LinkedHashMap<>();
        for (int warm = 0; warm < 3; warm++) {
            for (String point : points) {
                time(schema, vocabulary, point);
            }
        }
        for (String point : points) {
            long[] t = time(schema, vocabulary, point);
            out.put(point.isEmpty() ? "(start)" : point, Map.of("walk", round(t[0] / 1e3), "cached", round(t[1] / 1e3)));
        }
        return out;
    }

    /** Median nanoseconds of a mask at {@code point}: walked (a fresh grammar each try), then cached. */
    private long[] time(JsonNode schema, TokenVocabulary vocabulary, String point) {
        int[] ids = tokenizer.encode(point);
        long[] walked = new long[21];
        long[] cached = new long[21];
        float[] logits = new float[vocabulary.size()];
        for (int i = 0; i < walked.length; i++) {
            Matcher matcher = Grammar.jsonSchema(schema, vocabulary).matcher(new int[0]);
            for (int id : ids) {
                matcher.accept(id);
            }
            long t = System.nanoTime();
            matcher.mask(logits);
            walked[i] = System.nanoTime() - t;
            t = System.nanoTime();
            matcher.mask(logits);
            cached[i] = System.nanoTime() - t;
        }
        Arrays.sort(walked);
        Arrays.sort(cached);
        return new long[] {walked[10], cached[10]};
    }

    /** Times every constraint call of one run (engine thread only). */
    private static final class Timed {
        long nanos;
        long tokens;

        TokenConstraint wrap(Matcher matcher) {
            return new TokenConstraint() {
                @Override
                public boolean mask(float[] logits) {
                    long t = System.nanoTime();
                    boolean more = matcher.mask(logits);
                    nanos += System.nanoTime() - t;
                    return more;
                }

                @Override
                public void accept(int token) {
                    long t = System.nanoTime();
                    matcher.accept(token);
                    nanos += System.nanoTime() - t;
                    tokens++;
                }
            };
        }
    }

    private static double ms(long nanos) {
        return round(nanos / 1e6);
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
