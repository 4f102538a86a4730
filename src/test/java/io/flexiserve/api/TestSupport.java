package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared waits for Quarkus tests. */
public final class TestSupport {

    private TestSupport() {
    }

    /** Blocks until /q/health/ready says the model is loaded and warmed up (at most 120 s). */
    public static void awaitReady() {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (given().get("/q/health/ready").statusCode() != 200) {
            assertTrue(System.nanoTime() < deadline, "not ready within 120 s: " + given().get("/q/health/ready").asString());
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
