package io.flexiserve.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flexiserve.tokenizer.Fixtures;
import io.flexiserve.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;

/**
 * The real Llama 3 tokenizer and its vocabulary as the matcher sees it, loaded once for the structured-output tests
 * (and left open until the JVM ends), and the check that a mask is exactly the tokens that continue an output.
 */
final class Llama3Vocabulary {

    static final int SIZE = 128256;
    private static Tokenizer tokenizer;
    private static TokenVocabulary vocabulary;

    private Llama3Vocabulary() {
    }

    static synchronized Tokenizer tokenizer() {
        if (tokenizer == null) {
            tokenizer = Tokenizer.load(Fixtures.llama3Tokenizer());
        }
        return tokenizer;
    }

    static synchronized TokenVocabulary vocabulary() {
        if (vocabulary == null) {
            vocabulary = TokenVocabulary.of(SIZE, tokenizer()::tokenBytes, tokenizer()::special);
        }
        return vocabulary;
    }

    /** After each prefix (which must be valid), the mask is exactly the tokens whose bytes continue it, and one does. */
    static void assertExactMasks(Node root, String... prefixes) {
        TokenVocabulary v = vocabulary();
        for (String prefix : prefixes) {
            State state = StructuredOutputTest.feed(State.start(root), prefix);
            assertNotNull(state, prefix);
            long[] mask = v.allowed(state);
            int allowed = 0;
            for (int id = 0; id < SIZE; id++) {
                byte[] b = v.bytesOf(id);
                boolean expected = b != null && StructuredOutputTest.feed(state, b) != null;
                allowed += expected ? 1 : 0;
                assertEquals(expected, (mask[id >>> 6] >>> id & 1) == 1, prefix + " then token " + id + " "
                        + (b == null ? "(special)" : new String(b, StandardCharsets.UTF_8)));
            }
            assertTrue(allowed > 0, "some token continues " + prefix);
        }
    }
}
