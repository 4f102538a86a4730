package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The service starts on the generated demo model and becomes ready once it is loaded and warmed up. */
@QuarkusTest
class HealthTest {

    @Test
    void readyOnceTheDemoModelIsLoaded() throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (given().get("/q/health/ready").statusCode() != 200) {
            assertTrue(System.nanoTime() < deadline, "not ready within 120 s: " + given().get("/q/health/ready").asString());
            Thread.sleep(200);
        }
        given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'model-ready' }.data.phase", equalTo("ready"));
        given().get("/q/health/started").then().statusCode(200).body("status", equalTo("UP"));
        given().get("/q/health/live").then().statusCode(200);
        assertTrue(Files.isRegularFile(Path.of("target/flexiserve-test-data/models/flexidepth-demo-v3/model.safetensors")));
    }
}
