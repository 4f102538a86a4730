package io.flexiserve.structured;

import static io.flexiserve.structured.StructuredOutputTest.BOUNDED;
import static io.flexiserve.structured.StructuredOutputTest.JSON;
import static io.flexiserve.structured.StructuredOutputTest.feed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Strings with {@code minLength}/{@code maxLength}, a {@code pattern} or a {@code format}, and numbers with
 * {@code minimum}/{@code maximum} and their exclusive forms: what each lets through, byte by byte; masks over the
 * real Llama 3 vocabulary that are exactly the tokens that keep such a value valid; and formats written by random
 * walks that parse as what they claim to be. (Random walks through {@link StructuredOutputTest#BOUNDED} validating
 * against a JSON Schema validator are in {@link StructuredOutputTest}.)
 */
class ConstrainedValuesTest {


    private static State start(String schema) throws Exception {
        return State.start(SchemaCompiler.compile(JSON.readTree(schema)));
    }

    /** Whether {@code text} is a complete value of {@code schema}. */
    private static boolean complete(String schema, String text) throws Exception {
        State s = feed(start(schema), text);
        return s != null && s.accepting();
    }

    /** Asserts that each of {@code complete} is a whole value of {@code schema} and none of {@code not} is. */
    private static void values(String schema, String[] complete, String[] not) throws Exception {
        for (String text : complete) {
            assertTrue(complete(schema, text), schema + ": " + text);
        }
        for (String text : not) {
            assertFalse(complete(schema, text), schema + ": not " + text);
        }
    }

    /** Asserts that none of {@code texts} may even begin a value of {@code schema}. */
    private static void refusedAtOnce(String schema, String... texts) throws Exception {
        for (String text : texts) {
            assertFalse(opens(schema, text), schema + ": " + text);
        }
    }

    /** Whether {@code text} may begin a value of {@code schema}. */
    private static boolean opens(String schema, String text) throws Exception {
        return feed(start(schema), text) != null;
    }

    @Test
    void stringLengthsCountCodePoints() throws Exception {
        String code = "{\"type\":\"string\",\"minLength\":2,\"maxLength\":4}";
        assertTrue(complete(code, "\"ab\""));
        assertTrue(complete(code, "\"abcd\""));
        assertFalse(complete(code, "\"a\""), "below minLength the quote cannot close");
        assertNotNull(feed(start(code), "\"a"));
        assertNull(feed(start(code), "\"abcde"), "past maxLength no character may begin");
        assertTrue(complete(code, "\"\u00e9\u20ac\ud834\udd1ex\""), "2-, 3- and 4-byte UTF-8 characters are one each");
        assertNull(feed(start(code), "\"\u00e9\u20ac\ud834\udd1exy"));
        assertTrue(complete(code, "\"\\u00e9\\n\\\"a\""), "an escape is one character");
        assertNull(feed(start(code), "\"a\\ud83d"), "no surrogate escape: a pair would count as two");
        assertNull(feed(start(code), "\"a\\uD7FF"), "no escape opening with d at all");
        assertTrue(complete(code, "\"a\ud83d\ude00\""), "the character itself as UTF-8 is one");
        assertTrue(complete("{\"type\":\"string\"}", "\"\\ud83d\\ude00\""), "unbounded strings keep every escape");
        assertTrue(complete("{\"type\":\"string\",\"maxLength\":0}", "\"\""));
        assertNull(feed(start("{\"type\":\"string\",\"maxLength\":0}"), "\"a"));
        assertTrue(complete("{\"minLength\":1}", "\"a\""), "minLength alone makes a string");
        assertFalse(opens("{\"minLength\":1}", "1"));
        assertTrue(complete("{\"type\":[\"string\",\"null\"],\"minLength\":3}", "null"));
        assertTrue(complete("{\"type\":\"integer\",\"minLength\":3}", "7"), "a string keyword leaves other types be");
    }

    @Test
    void integersStayWithinTheirBounds() throws Exception {
        String age = "{\"type\":\"integer\",\"minimum\":18,\"exclusiveMaximum\":130}";
        values(age, new String[] {"18", "19", "99", "129"}, new String[] {"17", "130", "1000", "-1", "0", "18.0", "2e1"});
        assertTrue(opens(age, "1"), "1 may still become 18 or 100");
        assertTrue(opens(age, "12"), "12 may still become 120 to 129");
        assertFalse(opens(age, "13"), "13 is below 18, and 130 and more are past the maximum");
        assertFalse(opens(age, "0"), "a leading zero can only be 0");
        assertFalse(opens(age, "-"), "no negative number is 18 or more");
        assertFalse(opens(age, "1300"), "1300 only grows");
        String delta = "{\"type\":\"integer\",\"minimum\":-5,\"maximum\":-2}";
        values(delta, new String[] {"-5", "-2"}, new String[0]);
        refusedAtOnce(delta, "-6", "-1", "-0", "2");
        values("{\"type\":\"integer\",\"exclusiveMinimum\":1.5,\"maximum\":3.7}", new String[] {"2", "3"},
                new String[] {"1", "4"}); // rounded in to whole numbers
        String big = "{\"type\":\"integer\",\"minimum\":1000000}";
        assertTrue(opens(big, "999999"), "999999 may still become 9999990");
        assertFalse(complete(big, "999999"));
        assertTrue(complete(big, "1000000"));
        assertTrue(complete("{\"type\":\"integer\",\"minimum\":1,\"exclusiveMinimum\":1}", "2"), "the stricter bound");
        assertFalse(complete("{\"type\":\"integer\",\"minimum\":1,\"exclusiveMinimum\":1}", "1"));
        assertFalse(complete("{\"type\":\"integer\",\"maximum\":5,\"exclusiveMaximum\":true}", "5"), "draft 4's boolean");
        assertTrue(complete("{\"type\":\"integer\",\"maximum\":5,\"exclusiveMaximum\":true}", "4"));
    }

    @Test
    void numbersStayWithinTheirBoundsWithoutExponents() throws Exception {
        String ratio = "{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":1}";
        values(ratio, new String[] {"0.5", "1", "1.0", "1.000", "0.001", "0.0000000000000001"},
                new String[] {"0", "0.0", "1.01", "1.0000000000000001", "2", "-0.1", "5e-1"});
        assertTrue(opens(ratio, "0.000"), "0.000 may become 0.0001");
        assertFalse(opens(ratio, "0e"), "a bounded number has no exponent");
        refusedAtOnce(ratio, "-", "1.1");
        String celsius = "{\"type\":\"number\",\"minimum\":-273.15,\"maximum\":1e3}";
        values(celsius, new String[] {"-273.15", "-273.150", "1000"}, new String[0]);
        refusedAtOnce(celsius, "-273.16", "-274", "1000.5", "1001");
        assertTrue(complete("{\"minimum\":2}", "2.5"), "a number keyword alone makes a number");
        assertTrue(complete("{\"type\":\"number\",\"minimum\":2}", "12345678901234.5"), "no upper bound");
    }

    @Test
    void multiplesWithAndWithoutBounds() throws Exception {
        String five = "{\"type\":\"integer\",\"multipleOf\":5}";
        values(five, new String[] {"0", "5", "-15", "1000000000000000"}, new String[] {"7", "-1", "16"});
        assertTrue(opens(five, "7"), "7 may become 70");
        assertFalse(opens(five, "1000000000000001"), "16 digits and not a multiple: nothing may follow");
        String bounded = "{\"type\":\"integer\",\"multipleOf\":7,\"minimum\":10,\"maximum\":20}";
        values(bounded, new String[] {"14"}, new String[] {"7", "21", "10"});
        refusedAtOnce(bounded, "2", "-", "3");
        String cents = "{\"type\":\"number\",\"multipleOf\":0.25,\"exclusiveMinimum\":0,\"exclusiveMaximum\":1}";
        values(cents, new String[] {"0.25", "0.5", "0.750"}, new String[] {"0", "1", "0.3", "0.0"});
        refusedAtOnce(cents, "0.3", "0.26", "1.");
        String none = "{\"type\":\"integer\",\"multipleOf\":10,\"exclusiveMinimum\":11,\"exclusiveMaximum\":20}";
        assertThrows(SchemaException.class, () -> start(none), "no multiple within: refused");
        assertThrows(SchemaException.class, () -> start("{\"type\":\"number\",\"multipleOf\":0}"));
    }

    @Test
    void uniqueItemsOverLiteralsAreEachWrittenOnce() throws Exception {
        String colors = "{\"$defs\":{\"c\":{\"enum\":[\"red\",\"green\",\"re\"]}},\"type\":\"array\","
                + "\"items\":{\"$ref\":\"#/$defs/c\"},\"uniqueItems\":true,\"minItems\":1}";
        values(colors, new String[] {"[\"red\"]", "[\"re\",\"red\"]", "[\"green\",\"re\",\"red\"]"},
                new String[] {"[]", "[\"red\",\"red\"]"});
        refusedAtOnce(colors, "[\"red\",\"red\"", "[\"green\",\"g", "[\"red\",\"re\",\"green\",");
        String flags = "{\"type\":\"array\",\"items\":{\"type\":\"boolean\"},\"uniqueItems\":true}";
        values(flags, new String[] {"[true,false]", "[]"}, new String[0]);
        refusedAtOnce(flags, "[true,t", "[false,true,");
        values("{\"type\":\"array\",\"uniqueItems\":false}", new String[] {"[1,1]"}, new String[0]);
        for (String bad : new String[] {"{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"uniqueItems\":true}",
            "{\"type\":\"array\",\"items\":{\"enum\":[1,1.0]},\"uniqueItems\":true}",
            "{\"type\":\"array\",\"items\":{\"enum\":[1,2]},\"uniqueItems\":true,\"minItems\":3}"}) {
            assertThrows(SchemaException.class, () -> start(bad), bad);
        }
    }

    @Test
    void tuplesTakeTheirItemsInOrder() throws Exception {
        String point = "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"integer\"},{\"type\":\"string\"}],\"items\":false}";
        values(point, new String[] {"[1,\"a\"]", "[1]", "[]"}, new String[] {"[1,\"a\",2]"});
        refusedAtOnce(point, "[\"a\"", "[1,2", "[1,\"a\",");
        String row = "{\"type\":\"array\",\"prefixItems\":[{\"const\":\"id\"}],\"items\":{\"type\":\"boolean\"},"
                + "\"minItems\":2,\"maxItems\":3}";
        values(row, new String[] {"[\"id\",true]", "[\"id\",true,false]"}, new String[] {"[\"id\"]", "[]"});
        refusedAtOnce(row, "[true", "[\"id\",1", "[\"id\",true,false,");
        String draft7 = "{\"type\":\"array\",\"items\":[{\"type\":\"null\"}],\"additionalItems\":{\"type\":\"integer\"}}";
        values(draft7, new String[] {"[null,1,2]", "[null]"}, new String[0]);
        refusedAtOnce(draft7, "[1", "[null,null");
        String wrapped = "{\"$defs\":{\"d\":{\"type\":\"integer\",\"minimum\":5}},\"allOf\":[{\"$ref\":\"#/$defs/d\"}],"
                + "\"description\":\"a reference described\"}";
        values(wrapped, new String[] {"5", "12"}, new String[] {"4"});
    }

    @Test
    void wholeOutputsFollowARegexOrAChoice() throws Exception {
        java.util.List<String> choices = java.util.List.of("positive", "negative", "n/a (\u00e9)");
        Grammar choice = Grammar.choice(choices, Llama3Vocabulary.vocabulary());
        Grammar email = Grammar.regex("\\w{1,8}@\\w{1,8}\\.com\\n", Llama3Vocabulary.vocabulary());
        int written = 0;
        for (int seed = 0; seed < 6; seed++) {
            String c = StructuredOutputTest.generate(choice, new Random(seed), 50, Llama3Vocabulary.vocabulary());
            String e = StructuredOutputTest.generate(email, new Random(seed), 60, Llama3Vocabulary.vocabulary());
            if (c != null) {
                assertTrue(choices.contains(c), "one of the choices, as written: " + c);
                written++;
            }
            if (e != null) {
                assertTrue(e.matches("\\w{1,8}@\\w{1,8}\\.com\\n"), "the whole output matches: " + e);
                written++;
            }
        }
        assertTrue(written >= 8, written + " of 12 walks ended");
        assertTrue(Grammar.choice(java.util.List.of("", "yes"), Llama3Vocabulary.vocabulary()).matcher(new int[] {1})
                .complete(), "an empty choice, first, may be the output");
        Node raw = new Node.Raw(StringPattern.compileWhole("(?:ab|a)\\d{2}\u00e9?"));
        assertFalse(feed(State.start(raw), "").accepting());
        assertTrue(feed(State.start(raw), "a12").accepting());
        assertTrue(feed(State.start(raw), "ab12\u00e9").accepting());
        assertNull(feed(State.start(raw), " a12"), "no leading whitespace: the text is the output, not JSON");
        assertNull(feed(State.start(raw), "a12x"));
        assertTrue(feed(State.start(new Node.Raw(StringPattern.compileWhole("^x*$"))), "").accepting(),
                "anchors are allowed, and an empty output may match");
        Llama3Vocabulary.assertExactMasks(raw, "", "a", "ab1", "a12", "ab12\u00e9".substring(0, 4));
    }

    @Test
    void patternsMatchTheDecodedCharacters() throws Exception {
        String code = "{\"type\":\"string\",\"pattern\":\"^[a-z]{2,3}-\\\\d+$\"}";
        values("{\"type\":\"string\",\"pattern\":\"^x{00002}$\"}", new String[] {"\"xx\""},
                new String[] {"\"x{00002}\"", "\"x\""}); // a bound of any length is a quantifier
        values(code, new String[] {"\"ab-1\"", "\"abc-123\""},
                new String[] {"\"a-1\"", "\"abcd-1\"", "\"ab-\"", "\"AB-1\"", "\"ab-1x\""});
        assertNull(feed(start(code), "\"abcd"), "a character the pattern cannot take is refused at once");
        assertNull(feed(start(code), "\"ab-1\\u0041"), "an escape is decoded before the pattern sees it");
        String contains = "{\"type\":\"string\",\"pattern\":\"b\"}";
        assertTrue(complete(contains, "\"abc\""), "an unanchored pattern searches");
        assertFalse(complete(contains, "\"ac\""));
        assertNotNull(feed(start(contains), "\"ac"), "and may still find its match");
        String escapes = "{\"type\":\"string\",\"pattern\":\"^a\\\\n\\\"\u00e9$\"}";
        assertTrue(complete(escapes, "\"a\\n\\\"\u00e9\""), "JSON escapes and UTF-8, decoded");
        assertTrue(complete(escapes, "\"a\\u000a\\u0022\\u00E9\""), "the same characters as \\u escapes");
        values("{\"type\":\"string\",\"pattern\":\"^(?:ab|cd)+?$|^x$\"}", new String[] {"\"abcdab\"", "\"x\""},
                new String[] {"\"abx\"", "\"\""});
        String classes = "{\"type\":\"string\",\"pattern\":\"^[^\\\\s,]\\\\w*\\\\.?[\\\\d-]?$\"}";
        assertTrue(complete(classes, "\"\u00e9t_9.-\""));
        refusedAtOnce(classes, "\" ", "\",");
        String emoji = "{\"type\":\"string\",\"pattern\":\"^.{2}$\"}";
        assertTrue(complete(emoji, "\"\ud83d\ude00a\""), "an emoji is one code point");
        assertFalse(complete(emoji, "\"a\\nb\""), "'.' takes no line end");
    }

    @Test
    void patternsBeyondTheGrammarAreRefusedWithTheReason() {
        for (String pattern : new String[] {"(?=a)", "(a)\\\\1", "a^b", "\\\\bword", "[z-a]", "(a", "a)",
            "[^\\\\s\\\\S]", "a{2,1}", "(?:a{100}){100}", "*a", "\\\\p{L}", "^[a-z]{1,10000}$", "^\\\\x+A$",
            "\\\\01", "(".repeat(150) + "a" + ")".repeat(150)}) {
            String schema = "{\"type\":\"string\",\"pattern\":\"" + pattern + "\"}";
            SchemaException e = assertThrows(SchemaException.class, () -> start(schema), schema);
            assertEquals("pattern", e.keyword(), schema);
        }
        SchemaException both = assertThrows(SchemaException.class,
                () -> start("{\"type\":\"string\",\"pattern\":\"^a+$\",\"maxLength\":3}"));
        assertEquals("pattern", both.keyword(), "a pattern and a length together could leave no way to end");
        SchemaException format = assertThrows(SchemaException.class,
                () -> start("{\"type\":\"string\",\"format\":\"hostname\"}"));
        assertTrue(format.getMessage().contains("date-time"), "the supported formats are listed: " + format.getMessage());
    }

    @Test
    void datesKnowTheMonthsAndTheLeapYears() throws Exception {
        String date = "{\"type\":\"string\",\"format\":\"date\"}";
        for (String ok : new String[] {"2024-02-29", "2000-02-29", "1999-12-31", "2023-04-30", "0004-02-29"}) {
            assertTrue(complete(date, "\"" + ok + "\""), ok);
        }
        for (String refused : new String[] {"2023-02-29", "1900-02-29", "2024-04-31", "2024-13-01", "2024-00-10",
            "0000-01-01", "0000-02-29",
            "2024-1-01", "24-01-01"}) {
            assertFalse(complete(date, "\"" + refused + "\""), refused);
        }
        String dateTime = "{\"type\":\"string\",\"format\":\"date-time\"}";
        assertTrue(complete(dateTime, "\"2024-05-06T07:08:09Z\""));
        assertTrue(complete(dateTime, "\"2024-05-06T23:59:59.123456789+05:30\""));
        assertFalse(complete(dateTime, "\"2024-05-06T24:00:00Z\""));
        assertFalse(complete(dateTime, "\"2024-05-06 07:08:09Z\""));
    }

    @Test
    void formatsWrittenByRandomWalksParseAsWhatTheyClaim() throws Exception {
        record Check(String format, java.util.function.Consumer<String> parses) {
        }
        for (Check check : java.util.List.of(
                new Check("date-time", OffsetDateTime::parse),
                new Check("date", LocalDate::parse),
                new Check("time", OffsetTime::parse),
                new Check("uuid", v -> assertEquals(v.toLowerCase(), UUID.fromString(v).toString())),
                new Check("ipv4", v -> {
                    String[] octets = v.split("\\.", -1);
                    assertEquals(4, octets.length, v);
                    for (String o : octets) {
                        assertTrue(String.valueOf(Integer.parseInt(o)).equals(o) && Integer.parseInt(o) <= 255, v);
                    }
                }),
                new Check("email", v -> assertTrue(v.matches("[^@\\s]{1,64}@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}") && !v.contains("..")
                        && v.length() <= 254, v)))) {
            Grammar grammar = Grammar.jsonSchema(JSON.readTree("{\"type\":\"string\",\"format\":\"" + check.format + "\"}"),
                    Llama3Vocabulary.vocabulary());
            int written = 0;
            for (int seed = 0; seed < 6; seed++) {
                String out = StructuredOutputTest.generate(grammar, new Random(seed), 200, Llama3Vocabulary.vocabulary());
                if (out != null) {
                    JsonNode value = JSON.readTree(out);
                    check.parses.accept(value.asText());
                    written++;
                }
            }
            assertTrue(written >= 4, check.format + ": " + written + " of 6 walks ended");
        }
    }

    @Test
    void constrainedMasksAreExactlyTheTokensThatKeepTheValueValid() throws Exception {
        Node root = SchemaCompiler.compile(JSON.readTree(BOUNDED));
        String head = "{\"code\":\"ab\",\"none\":\"\",\"word\":null,";
        Llama3Vocabulary.assertExactMasks(root, "{\"code\":\"", "{\"code\":\"a", "{\"code\":\"abc", "{\"code\":\"abcd",
            "{\"code\":\"a\\", "{\"code\":\"ab\",\"none\":\"", head + "\"age\":", head + "\"age\":1",
            head + "\"age\":12", head + "\"age\":18,\"delta\":-", head + "\"age\":18,\"delta\":-3,\"ratio\":0.",
            head + "\"age\":18,\"delta\":-3,\"ratio\":1", head + "\"age\":18,\"delta\":-3,\"ratio\":1,\"celsius\":-27");
        Node patterned = SchemaCompiler.compile(JSON.readTree("{\"type\":\"array\",\"items\":{\"anyOf\":["
                + "{\"type\":\"string\",\"pattern\":\"^[a-c]+\\\\d?\u00e9?$\"},{\"type\":\"string\",\"format\":\"date\"}]}}"));
        Llama3Vocabulary.assertExactMasks(patterned, "[\"", "[\"ab", "[\"ab1", "[\"ab1\u00e9", "[\"20", "[\"2024-02-2", "[\"a\\u00");
    }
}
