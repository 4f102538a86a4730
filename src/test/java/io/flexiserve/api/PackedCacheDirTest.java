package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code flexiserve.model.packed-cache-dir}: the service keeps its packed weights there rather than under its data
 * directory, so that services and the bench can share one cache or put it on another disk.
 */
@QuarkusTest
@TestProfile(PackedCacheDirTest.ElsewhereQ8.class)
class PackedCacheDirTest {

    static final Path DIR = Path.of(System.getProperty("java.io.tmpdir"),
            "flexiserve-packed-dir-test-" + ProcessHandle.current().pid());

    /** The demo model as q8 on the CPU (the Java kernels, hence a packed-weight entry), its cache outside the data dir. */
    public static class ElsewhereQ8 implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("flexiserve.model.device", "cpu", "flexiserve.model.dtype", "q8",
                    "flexiserve.model.packed-cache-dir", DIR.toString());
        }
    }

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    /** The entry's files are unlinked; the running service's mappings outlive them. */
    @AfterAll
    static void removeTheCache() throws Exception {
        if (!Files.exists(DIR)) {
            return;
        }
        try (Stream<Path> files = Files.walk(DIR)) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }

    @Test
    void theEntryIsWrittenToTheConfiguredDirectoryAndTheModelServes() throws Exception {
        List<Path> entries;
        try (Stream<Path> list = Files.list(DIR)) {
            entries = list.toList();
        }
        assertEquals(1, entries.size(), "one entry: " + entries);
        assertTrue(entries.get(0).getFileName().toString().startsWith("q8-"), entries.get(0).toString());
        assertTrue(Files.isRegularFile(entries.get(0).resolve("index.json")), "a whole entry, committed");
        assertTrue(Files.isRegularFile(entries.get(0).resolve("source.json")), "with its source recorded");
        given().contentType(ContentType.JSON)
                .body("{\"model\":\"flexidepth-demo\",\"prompt\":\"hello\",\"max_tokens\":2,\"ignore_eos\":true}")
                .post("/v1/completions").then().statusCode(200).body("usage.completion_tokens", equalTo(2));
    }
}
