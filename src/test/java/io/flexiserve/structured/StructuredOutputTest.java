package io.flexiserve.structured;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.flexiserve.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The constraint core on the real Llama 3 vocabulary: whatever a model's logits, the text a matcher lets through
 * parses and validates against its schema (checked by networknt's validator), the mask equals a token-by-token
 * check, the end is allowed exactly when the value is complete, and bad schemas are refused by keyword and path.
 */
class StructuredOutputTest {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final SchemaRegistry SCHEMAS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final int END = 128009; // <|eot_id|>

    static final String PERSON = """
            {"type": "object", "properties": {
              "name": {"type": "string"},
              "age": {"type": "integer"},
              "height": {"type": ["number", "null"]},
              "role": {"enum": ["admin", "user", 3, null]},
              "kind": {"const": {"a": [1, "x"]}},
              "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
              "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "boolean"}},
                          "required": ["city", "zip"], "additionalProperties": false}},
             "required": ["name", "age", "height", "role", "kind", "tags", "address"], "additionalProperties": false}
            """;
    static final String TREE = """
            {"$defs": {"node": {"type": "object", "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}},
              "required": ["value", "children"], "additionalProperties": false}},
             "$ref": "#/$defs/node"}
            """;
    static final String OPTIONAL = """
            {"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "null"}, "c": {"type": "number"}},
             "required": ["c"]}
            """;
    static final String ANY_OF = """
            {"anyOf": [{"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"],
                        "additionalProperties": false},
                       {"type": "object", "properties": {"y": {"type": "string"}}, "required": ["y"],
                        "additionalProperties": false},
                       {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 3}]}
            """;
    static final String MAP = """
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "integer"}}}
            """;

    static final String BOUNDED = """
            {"type": "object", "properties": {
              "code": {"type": "string", "minLength": 2, "maxLength": 4},
              "none": {"type": "string", "maxLength": 0},
              "word": {"type": ["string", "null"], "minLength": 3},
              "age": {"type": "integer", "minimum": 18, "exclusiveMaximum": 130},
              "delta": {"type": "integer", "minimum": -5, "maximum": -2},
              "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
              "celsius": {"type": "number", "minimum": -273.15, "maximum": 1e3, "multipleOf": 0.05},
              "big": {"type": "integer", "minimum": 1000000},
              "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 3}},
             "required": ["code", "none", "word", "age", "delta", "ratio", "celsius", "big", "tags"],
             "additionalProperties": false}
            """;

    static final String TUPLES = """
            {"type": "object", "properties": {
              "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": false},
              "row": {"type": "array", "prefixItems": [{"type": "string", "maxLength": 3}, {"type": "integer"}],
                      "items": {"type": "boolean"}, "maxItems": 4},
              "label": {"allOf": [{"$ref": "#/$defs/label"}], "description": "Pydantic 1 wraps references so"}},
             "required": ["point", "row", "label"], "additionalProperties": false,
             "$defs": {"label": {"enum": ["a", "b"]}}}
            """;

    static final String UNION = """
            {"$defs": {
               "Cat": {"type": "object", "properties": {"pet_type": {"type": "string", "const": "cat"},
                       "meows": {"type": "integer"}}, "required": ["pet_type", "meows"], "additionalProperties": false},
               "Dog": {"type": "object", "properties": {"pet_type": {"enum": ["dog", "puppy"]},
                       "barks": {"type": "number"}}, "required": ["pet_type", "barks"], "additionalProperties": false}},
             "type": "object", "properties": {
               "pet": {"oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}],
                       "discriminator": {"propertyName": "pet_type"}},
               "note": {"oneOf": [{"type": "string", "maxLength": 4}, {"type": "null"}, {"const": 3}]},
               "colors": {"type": "array", "items": {"enum": ["red", "green", "re"]}, "uniqueItems": true}},
             "required": ["pet", "note", "colors"], "additionalProperties": false}
            """;

    static Tokenizer tokenizer;
    static TokenVocabulary vocabulary;

    @BeforeAll
    static void load() {
        tokenizer = Llama3Vocabulary.tokenizer();
        vocabulary = Llama3Vocabulary.vocabulary();
    }

    @ParameterizedTest
    @ValueSource(strings = {PERSON, TREE, OPTIONAL, ANY_OF, MAP, BOUNDED, TUPLES, UNION, "{\"type\": \"object\"}", "true"})
    void whateverTheLogitsTheOutputParsesAndValidates(String schemaText) throws Exception {
        JsonNode schema = JSON.readTree(schemaText);
        Grammar grammar = Grammar.jsonSchema(schema, vocabulary);
        int complete = 0;
        for (int seed = 0; seed < 12; seed++) {
            String out = generate(grammar, new Random(seed), 600);
            if (out == null) {
                continue; // ran out of tokens ("length"): nothing to check
            }
            complete++;
            JsonNode value = JSON.readTree(out);
            List<Error> errors = SCHEMAS.getSchema(schema).validate(value);
            assertTrue(errors.isEmpty(), "seed " + seed + ": " + out + " -> " + errors);
        }
        assertTrue(complete >= 6, "most random walks end within 600 tokens: " + complete + " of 12");
    }

    @Test
    void jsonObjectModeWritesAnObject() throws Exception {
        Grammar grammar = Grammar.jsonObject(vocabulary);
        for (int seed = 0; seed < 8; seed++) {
            String out = generate(grammar, new Random(seed), 600);
            if (out != null) {
                assertTrue(JSON.readTree(out).isObject(), out);
            }
        }
    }

    /**
     * Samples from random logits, masked, until an end token; null when {@code limit} tokens did not finish. The
     * "model" favours tokens that close strings and containers, so that random walks end in a few hundred tokens.
     */
    /** The outputs of ten seeded random walks through {@code grammar} that completed (at least five of them), parsed. */
    private static List<JsonNode> completeOutputs(Grammar grammar) throws Exception {
        List<JsonNode> outputs = new java.util.ArrayList<>();
        for (int seed = 0; seed < 10; seed++) {
            String out = generate(grammar, new Random(seed), 400);
            if (out != null) {
                outputs.add(JSON.readTree(out));
            }
        }
        assertTrue(outputs.size() >= 5, outputs.size() + " of 10 complete");
        return outputs;
    }

    static String generate(Grammar grammar, Random random, int limit) {
        return generate(grammar, random, limit, vocabulary);
    }

    static String generate(Grammar grammar, Random random, int limit, TokenVocabulary vocabulary) {
        Matcher matcher = grammar.matcher(new int[] {END});
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int step = 0; step < limit; step++) {
            float[] logits = new float[128256];
            for (int id = 0; id < logits.length; id++) {
                byte[] b = vocabulary.bytesOf(id);
                boolean closing = b != null && b.length <= 3 && new String(b, StandardCharsets.ISO_8859_1).matches(".*[\"\\]}].*");
                logits[id] = (float) random.nextGaussian() * 2 + (closing ? 9 : 0);
            }
            assertTrue(matcher.mask(logits), "a token may always follow until the end");
            int token = sample(logits, random);
            matcher.accept(token);
            if (token == END) {
                assertTrue(matcher.complete());
                return out.toString(StandardCharsets.UTF_8);
            }
            out.writeBytes(vocabulary.bytesOf(token));
        }
        return null;
    }

    static int sample(float[] logits, Random random) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double total = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            total += p[i];
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < p.length; i++) {
            r -= p[i];
            if (r <= 0 && p[i] > 0) {
                return i;
            }
        }
        throw new AssertionError("nothing to sample");
    }

    @Test
    void theMaskIsExactlyTheTokensThatContinueTheOutput() throws Exception {
        Llama3Vocabulary.assertExactMasks(SchemaCompiler.compile(JSON.readTree(PERSON)), "", "{\"na", "{\"name\": \"Ann\\",
            "{\"name\":\"\",\"age\":-1", "{\"name\":\"\",\"age\":12,\"height\":null,\"role\":",
            "{\"name\":\"\",\"age\":1,\"height\":2.5e", "{\"name\":\"\\u00", "{\"name\":\"\u00e9", "{\"name\": \"Ann");
    }

    @Test
    void acceptsValidAndRefusesInvalidText() throws Exception {
        Node person = SchemaCompiler.compile(JSON.readTree(PERSON));
        String valid = "{\"name\": \"A\\\"b\\u00e9\u00e9\", \"age\": -0, \"height\": 1.5E+3, \"role\": 3, \"kind\": {\"a\":[1,\"x\"]},"
                + " \"tags\": [\"x\"], \"address\": {\"city\": \"\", \"zip\": false}}";
        assertTrue(feed(State.start(person), valid).accepting());
        for (String invalid : new String[] {"{\"age\": 1", "{\"name\": \"x\", \"age\": 01", "{\"name\": \"x\", \"age\": 1.5",
            "{\"name\": \"\\x\"", "{\"name\": \"a\nb\"", "{\"name\": \"\u00e9\", \"age\": 1,}",
            "{\"name\":\"\",\"age\":1,\"height\":null,\"role\":\"root\"", "{\"name\":\"\",\"age\":1,\"height\":true",
            valid.replace("[\"x\"]", "[\"x\",\"y\",\"z\"]"), valid + " ", valid + "{}", "[]"}) {
            assertNull(feed(State.start(person), invalid), invalid);
        }
        byte[] brokenUtf8 = {'"', (byte) 0xC3, 'a'};
        assertNull(feed(State.start(SchemaCompiler.compile(JSON.readTree("{\"type\": \"string\"}"))), brokenUtf8));
    }

    @Test
    void theEndIsAllowedOnlyWhenTheValueIsCompleteAndThenForced() throws Exception {
        Grammar grammar = Grammar.jsonSchema(JSON.readTree(OPTIONAL), vocabulary);
        Matcher matcher = grammar.matcher(new int[] {END});
        for (int token : tokenizer.encode("{\"c\": 1")) {
            matcher.accept(token);
        }
        float[] logits = new float[128256];
        assertTrue(matcher.mask(logits));
        assertEquals(Float.NEGATIVE_INFINITY, logits[END], "an object not yet closed cannot end");
        for (int token : tokenizer.encode("}")) {
            matcher.accept(token);
        }
        logits = new float[128256];
        assertTrue(matcher.mask(logits));
        for (int id = 0; id < logits.length; id++) {
            assertEquals(id == END ? 0f : Float.NEGATIVE_INFINITY, logits[id], "after the value only the end: " + id);
        }
        assertThrows(IllegalStateException.class, () -> grammar.matcher(new int[] {END}).accept(END),
                "ending an empty output is refused");
        Matcher noEnd = grammar.matcher(new int[0]);
        for (int token : tokenizer.encode("{\"c\":2}")) {
            noEnd.accept(token);
        }
        assertFalse(noEnd.mask(new float[128256]), "complete and no end token: nothing may follow");
    }

    @Test
    void whitespaceBetweenTokensIsBounded() throws Exception {
        Node node = SchemaCompiler.compile(JSON.readTree(OPTIONAL));
        String spaces = " ".repeat(Frame.MAX_WHITESPACE);
        assertNotNull(feed(State.start(node), spaces + "{" + spaces + "\"c\"" + spaces + ":" + spaces + "1" + spaces + "}"));
        assertNull(feed(State.start(node), "{" + spaces + " \"c\": 1}"));
        assertNull(feed(State.start(node), "{\"c\": 1" + spaces + "\n}"));
    }

    @Test
    void toolCallsAreArraysOfNamedCallsWithValidArguments() throws Exception {
        ToolFunction weather = new ToolFunction("get_weather", JSON.readTree(
                "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"unit\":{\"enum\":[\"c\",\"f\"]}},"
                        + "\"required\":[\"city\",\"unit\"],\"additionalProperties\":false}"));
        ToolFunction time = new ToolFunction("get_time", null);
        Grammar single = Grammar.toolCalls(List.of(weather, time), false, false, null, ToolFormat.ARRAY, vocabulary);
        List<JsonNode> outputs = completeOutputs(single);
        for (JsonNode calls : outputs) {
            String out = calls.toString();
            assertEquals(1, calls.size(), "one call without parallel_tool_calls: " + out);
            JsonNode call = calls.get(0);
            if (call.get("name").asText().equals("get_weather")) {
                assertTrue(SCHEMAS.getSchema(weather.parameters()).validate(call.get("arguments")).isEmpty(), out);
            } else {
                assertEquals("get_time", call.get("name").asText());
                assertEquals(JSON.readTree("{}"), call.get("arguments"));
            }
        }
        Grammar auto = Grammar.toolCalls(List.of(weather), true, true, null, ToolFormat.ARRAY, vocabulary);
        Matcher answer = auto.matcher(new int[] {END});
        for (int token : tokenizer.encode(" Hello [there]")) {
            answer.accept(token);
        }
        float[] logits = new float[128256];
        assertTrue(answer.mask(logits) && answer.complete(), "auto: text that does not open with [ is an answer");
        for (float l : logits) {
            assertEquals(0f, l, "and free from there on");
        }
        answer.accept(128006); // any token, a special one included, as without a grammar
        Matcher call = auto.matcher(new int[] {END});
        for (int token : tokenizer.encode("[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"")) {
            call.accept(token);
        }
        assertThrows(IllegalStateException.class, () -> {
            for (int token : tokenizer.encode("x\", \"unit\": \"k\"")) {
                call.accept(token);
            }
        }, "auto: a call, once begun, is constrained");
    }

    /** A template's format (Llama 3.1's): one object whose arguments are its "parameters"; '{' opens no answer. */
    @Test
    void aTemplatesToolCallIsOneObjectWithItsParameters() throws Exception {
        ToolFunction weather = new ToolFunction("get_weather", JSON.readTree(
                "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"],"
                        + "\"additionalProperties\":false}"));
        Grammar forced = Grammar.toolCalls(List.of(weather), true, false, null, ToolFormat.TEMPLATE_JSON, vocabulary);
        for (JsonNode call : completeOutputs(forced)) {
            String out = call.toString();
            assertTrue(call.isObject(), "one call, not a list, whatever parallel_tool_calls says: " + out);
            assertEquals("get_weather", call.get("name").asText());
            assertTrue(SCHEMAS.getSchema(weather.parameters()).validate(call.get("parameters")).isEmpty(), out);
        }
        Grammar auto = Grammar.toolCalls(List.of(weather), true, true, null, ToolFormat.TEMPLATE_JSON, vocabulary);
        Matcher answer = auto.matcher(new int[] {END});
        for (int token : tokenizer.encode("[1, 2] is a list")) {
            answer.accept(token);
        }
        assertTrue(answer.complete(), "auto: a reply not opening with { is an answer, '[' included");
        Matcher call = auto.matcher(new int[] {END});
        for (int token : tokenizer.encode("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}")) {
            call.accept(token);
        }
        assertTrue(call.complete());
        Matcher arguments = auto.matcher(new int[] {END});
        assertThrows(IllegalStateException.class, () -> {
            for (int token : tokenizer.encode("{\"name\": \"get_weather\", \"arguments\"")) {
                arguments.accept(token);
            }
        }, "the template's key is parameters");
        assertThrows(SchemaException.class, () -> Grammar.toolCalls(List.of(weather), true, true,
                JSON.readTree("{\"type\":\"object\"}"), ToolFormat.TEMPLATE_JSON, vocabulary),
                "an object answer cannot be told from a call");
    }

    @Test
    void schemasTheGrammarCannotEnforceAreRefusedByKeywordAndPath() {
        record Bad(String schema, String keyword, String path) {
        }
        for (Bad bad : List.of(
                new Bad("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"uniqueItems\":true}}}",
                        "uniqueItems", "#/properties/a"),
                new Bad("{\"type\":\"object\",\"minProperties\":1}", "minProperties", "#"),
                new Bad("{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"not\":{\"const\":3}}}", "not", "#/items"),
                new Bad("{\"type\":\"string\",\"format\":\"hostname\"}", "format", "#"),
                new Bad("{\"type\":\"string\",\"minLength\":3,\"maxLength\":2}", "maxLength", "#"),
                new Bad("{\"allOf\":[{\"type\":\"string\"},{\"maxLength\":2}]}", "allOf", "#"),
                new Bad("{\"type\":\"integer\",\"maximum\":-10000000000000000}", "maximum", "#"),
                new Bad("{\"type\":\"number\",\"maximum\":1e400}", "maximum", "#"),
                new Bad("{\"allOf\":[{\"type\":\"string\"}],\"maxLength\":2}", "allOf", "#"),
                new Bad("{\"type\":\"array\",\"prefixItems\":[{},{}],\"items\":false,\"minItems\":3}", "minItems", "#"),
                new Bad("{\"type\":\"array\",\"additionalItems\":false}", "additionalItems", "#"),
                new Bad("{\"type\":\"array\",\"prefixItems\":[{\"type\":\"strange\"}]}", "type", "#/prefixItems/0"),
                new Bad("{\"type\":\"string\",\"minLength\":-1}", "minLength", "#"),
                new Bad("{\"type\":\"integer\",\"minimum\":1.5,\"maximum\":1.9}", "maximum", "#"),
                new Bad("{\"type\":\"number\",\"minimum\":2,\"exclusiveMaximum\":2}", "exclusiveMaximum", "#"),
                new Bad("{\"type\":\"integer\",\"minimum\":1e20}", "minimum", "#"),
                new Bad("{\"type\":\"number\",\"minimum\":0.0000000000001}", "minimum", "#"),
                new Bad("{\"type\":\"number\",\"minimum\":\"3\"}", "minimum", "#"),
                new Bad("{\"type\":\"integer\",\"exclusiveMinimum\":true}", "exclusiveMinimum", "#"),
                new Bad("{\"enum\":[\"ab\"],\"minLength\":1}", "enum", "#"),
                new Bad("{\"anyOf\":[{\"type\":\"integer\"}],\"minimum\":1}", "anyOf", "#"),
                new Bad("{\"type\":\"strange\"}", "type", "#"),
                new Bad("{\"$ref\":\"#/$defs/missing\"}", "$ref", "#/$defs/missing"),
                new Bad("{\"$ref\":\"http://example.com/s.json\"}", "$ref", "http://example.com/s.json"),
                new Bad("{\"type\":\"object\",\"properties\":{},\"required\":[\"x\"]}", "required", "#"),
                new Bad("{\"type\":\"array\",\"minItems\":3,\"maxItems\":2}", "maxItems", "#"),
                new Bad("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"string\",\"maxLength\":3}]}", "oneOf", "#"),
                new Bad("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}", "oneOf", "#"),
                new Bad("{\"oneOf\":[{\"const\":1},{\"enum\":[2,1.0]}]}", "oneOf", "#"),
                new Bad("{\"properties\":{\"u\":{\"oneOf\":[{\"type\":\"object\",\"properties\":{\"k\":{\"const\":\"a\"}}},"
                        + "{\"type\":\"object\",\"properties\":{\"k\":{\"const\":\"b\"}},\"required\":[\"k\"]}]}}}",
                        "oneOf", "#/properties/u"),
                new Bad("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"oneOf\":[{\"type\":\"integer\"}]}",
                        "anyOf", "#"),
                new Bad("{\"enum\":[]}", "enum", "#"),
                new Bad("false", "false", "#"),
                new Bad("{\"anyOf\":[{\"$ref\":\"#\"},{\"type\":\"null\"}]}", "$ref", "#"),
                new Bad("{\"$defs\":{\"a\":{\"anyOf\":[{\"$ref\":\"#/$defs/b\"}]},\"b\":{\"$ref\":\"#/$defs/a\"}},"
                        + "\"$ref\":\"#/$defs/a\"}", "$ref", "#/$defs/a"),
                new Bad("{\"$ref\":\"#foo\"}", "$ref", "#foo"),
                new Bad("{\"anyOf\":[{\"type\":\"object\"}],\"required\":[\"a\"]}", "anyOf", "#"),
                new Bad("{\"type\":\"string\",\"enum\":[1,2]}", "enum", "#"),
                new Bad("{\"anyOf\":[{\"type\":\"string\"}],\"enum\":[\"x\",1]}", "enum", "#"),
                new Bad("{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"enum\":[[1]]}", "enum", "#"),
                new Bad("{\"const\":\"a\",\"enum\":[\"b\"]}", "const", "#"),
                new Bad("{\"const\":\"a\",\"enum\":[\"a\"],\"items\":{}}", "const", "#"),
                new Bad("{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#\"}},\"required\":[\"next\"]}", "$ref", "#"),
                new Bad("{\"type\":\"array\",\"items\":{\"$ref\":\"#\"},\"minItems\":1}", "$ref", "#"),
                new Bad("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/loop\"}},\"$defs\":{\"loop\":"
                        + "{\"type\":\"object\",\"properties\":{\"n\":{\"$ref\":\"#/$defs/loop\"}},\"required\":[\"n\"]}}}",
                        "$ref", "#"))) {
            SchemaException e = assertThrows(SchemaException.class, () -> SchemaCompiler.compile(JSON.readTree(bad.schema)),
                    bad.schema);
            assertEquals(bad.keyword, e.keyword(), bad.schema);
            assertEquals(bad.path, e.path(), bad.schema);
        }
    }

    @Test
    void recursionThatCanEndCompilesAndAmbiguityHasABound() throws Exception {
        Node list = SchemaCompiler.compile(JSON.readTree(
                "{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},\"next\":{\"$ref\":\"#\"}},\"required\":[\"v\"]}"));
        assertTrue(feed(State.start(list), "{\"v\":1,\"next\":{\"v\":2}}").accepting(), "an optional link may end the list");
        // two readings of every "[" (the types are alike): 2^d stacks d arrays deep, until the bound refuses more
        Node twins = SchemaCompiler.compile(JSON.readTree("{\"type\":[\"array\",\"array\"],\"items\":{\"$ref\":\"#\"}}"));
        assertTrue(feed(State.start(twins), "[".repeat(8) + "]".repeat(8)).accepting(), "256 readings are followed");
        assertNull(feed(State.start(twins), "[".repeat(9)), "512 are not: the output must close an array first");
        // wide levels are not nesting: an enum of 2000 values and an object of 600 optional keys stay writable
        StringBuilder values = new StringBuilder();
        StringBuilder properties = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            values.append(i == 0 ? "" : ",").append("\"v").append(i).append('"');
            if (i < 600) {
                properties.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":{\"type\":\"integer\"}");
            }
        }
        Node wideEnum = SchemaCompiler.compile(JSON.readTree("{\"enum\":[" + values + "]}"));
        assertTrue(feed(State.start(wideEnum), "\"v1999\"").accepting());
        Node wideObject = SchemaCompiler.compile(JSON.readTree("{\"type\":\"object\",\"properties\":{" + properties + "}}"));
        assertTrue(feed(State.start(wideObject), "{\"k599\":1}").accepting());
    }

    @Test
    void aConstListedInItsEnumIsTheConst() throws Exception { // Pydantic's schema of a one-value Literal
        Node one = SchemaCompiler.compile(JSON.readTree("{\"enum\":[\"a\"],\"const\":\"a\",\"type\":\"string\"}"));
        assertTrue(feed(State.start(one), "\"a\"").accepting());
        assertNull(feed(State.start(one), "\"b"));
    }

    @Test
    void keywordsBesideOthersKeepTheirMeaning() throws Exception {
        Node typedEnum = SchemaCompiler.compile(JSON.readTree("{\"type\":\"string\",\"enum\":[\"a\",1,null]}"));
        assertNotNull(feed(State.start(typedEnum), "\"a\""));
        assertNull(feed(State.start(typedEnum), "1"), "an enum value the type beside it excludes is never written");
        Node required = SchemaCompiler.compile(JSON.readTree("{\"properties\":{\"a\":{\"type\":\"null\"}},\"required\":[\"a\"]}"));
        assertNull(feed(State.start(required), "5"), "object keywords without a type: an object");
        assertNull(feed(State.start(required), "{}"), "with its required key");
        Node items = SchemaCompiler.compile(JSON.readTree("{\"minItems\":1}"));
        assertNull(feed(State.start(items), "[]"));
        assertTrue(feed(State.start(items), "[1]").accepting());
    }

    @Test
    void stringsAreValidUtf8() throws Exception {
        State string = State.start(SchemaCompiler.compile(JSON.readTree("{\"type\":\"string\"}")));
        assertTrue(feed(string, new byte[] {'"', (byte) 0xE2, (byte) 0x82, (byte) 0xAC, (byte) 0xF0, (byte) 0x9F, (byte) 0x98,
            (byte) 0x80, '"'}).accepting(), "a euro sign and an emoji");
        for (byte[] bad : new byte[][] {{(byte) 0xC0, (byte) 0x80}, {(byte) 0xE0, (byte) 0x80, (byte) 0x80},
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
            {(byte) 0xF5, (byte) 0x80, (byte) 0x80, (byte) 0x80}, {(byte) 0x80}}) {
            byte[] text = new byte[bad.length + 1];
            text[0] = '"';
            System.arraycopy(bad, 0, text, 1, bad.length);
            assertNull(feed(string, text), "overlong, surrogate, past U+10FFFF or a stray continuation: "
                    + java.util.Arrays.toString(bad));
        }
    }

    @Test
    void deeplyNestedOutputsNeitherOverflowNorLoseTheirMasks() {
        Node object = ((Node.AnyOf) Node.anyValue()).options.get(0);
        String deep = "{\"a\":" + "[".repeat(20_000);
        State s = feed(State.start(object), deep);
        State t = feed(State.start(object), deep);
        assertEquals(s, t, "compared frame by frame, 20000 deep");
        assertEquals(s.hashCode(), t.hashCode());
        Matcher matcher = Grammar.jsonObject(vocabulary).matcher(new int[] {END});
        for (int token : tokenizer.encode("{\"a\":")) {
            matcher.accept(token);
        }
        int bracket = tokenizer.encode("[")[0];
        float[] logits = new float[128256];
        for (int i = 0; i < 3000; i++) {
            matcher.accept(bracket);
            if (i % 1000 == 999) {
                assertTrue(matcher.mask(logits), "a mask 3000 arrays deep");
            }
        }
        assertEquals(0f, logits[bracket], "and one more array may open");
    }

    @Test
    void revisitedStatesReuseTheirMask() throws Exception {
        Grammar grammar = Grammar.jsonSchema(JSON.readTree(PERSON), vocabulary);
        State inString = feed(State.start(SchemaCompiler.compile(JSON.readTree(PERSON))), "{\"name\": \"ab");
        State later = feed(inString, "cdefgh ij");
        assertEquals(inString, later, "characters inside a string leave the state as it was");
        assertArrayEquals(grammar.mask(inString), grammar.mask(later));
    }

    static State feed(State state, String text) {
        return feed(state, text.getBytes(StandardCharsets.UTF_8));
    }

    static State feed(State state, byte[] bytes) {
        State s = state;
        for (byte b : bytes) {
            s = s.advance(b & 0xff);
            if (s == null) {
                return null;
            }
        }
        return s;
    }
}
