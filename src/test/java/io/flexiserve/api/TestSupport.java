package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import java.net.URI;
import java.util.function.BooleanSupplier;

/** Shared waits for Quarkus tests: each waits on the event itself, bounded generously, never on a fixed time. */
public final class TestSupport {

    private TestSupport() {
    }

    /**
     * Test-profile configuration serving the demo checkpoint as {@code name}, its tokenizer_config.json changed by
     * {@code change} (another chat template, none), with a data dir of its own.
     */
    public static java.util.Map<String, String> demoWithTokenizerConfig(String name,
            java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode> change) {
        try {
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory(name);
            io.flexiserve.DemoModel.write(dir);
            var json = new com.fasterxml.jackson.databind.ObjectMapper();
            java.nio.file.Path config = dir.resolve("tokenizer_config.json");
            var tokenizer = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(config.toFile());
            change.accept(tokenizer);
            json.writeValue(config.toFile(), tokenizer);
            return java.util.Map.of("flexiserve.model.path", dir.toString(), "flexiserve.model.name", name,
                    "flexiserve.data-dir", java.nio.file.Files.createTempDirectory(name + "-data").toString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Blocks until /q/health/ready says the model is loaded and warmed up (at most 120 s). */
    public static void awaitReady() {
        await("the model is ready", 120, () -> given().get("/q/health/ready").statusCode() == 200);
    }

    /** The official OpenAI Java SDK on the test service's {@code /v1} base, once the model is ready; no retries. */
    public static OpenAIClient openAi(URI base) {
        awaitReady();
        return OpenAIOkHttpClient.builder().baseUrl(base.toString()).apiKey("not-needed").maxRetries(0).build();
    }

    /** Blocks until {@code condition} holds, polling every 50 ms; fails naming {@code what} after {@code seconds}. */
    public static void await(String what, int seconds, BooleanSupplier condition) {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not within " + seconds + " s: " + what);
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** The sum of the scraped series of {@code family} whose labels contain every one of {@code labels}; 0 if none. */
    public static double metricSum(String family, String... labels) {
        double sum = 0;
        for (String line : given().get("/q/metrics").asString().split("\n")) {
            if (!line.startsWith(family + "{")) {
                continue;
            }
            boolean match = true;
            for (String label : labels) {
                match &= line.contains(label);
            }
            if (match) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
