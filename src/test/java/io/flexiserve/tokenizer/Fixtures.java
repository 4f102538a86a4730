package io.flexiserve.tokenizer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Registry-fetched fixtures (scripts/fetch-fixtures.sh, run by the Maven build before the tests). */
public final class Fixtures {

    private Fixtures() {
    }

    /** The real Llama 3 tokenizer.json and tokenizer_config.json. */
    public static Path llama3Tokenizer() {
        Path dir = Path.of(System.getProperty("test.fixtures.dir", ".fixtures")).resolve("llama3-tokenizer");
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")),
                "missing " + dir + ": run scripts/fetch-fixtures.sh (the Maven build does it before the tests)");
        return dir;
    }
}
