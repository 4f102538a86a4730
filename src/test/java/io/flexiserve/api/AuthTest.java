package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.specification.RequestSpecification;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The auth matrix: each endpoint group with no key, a wrong key and a right key. */
@QuarkusTest
@TestProfile(AuthTest.WithKeys.class)
class AuthTest {

    /** Two API keys and a fixed admin token. */
    public static class WithKeys implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("flexiserve.api-keys", "key-one,key-two", "flexiserve.admin.token", "admin-secret");
        }
    }

    private static final String CHAT = "{\"model\":\"flexidepth-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}";

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    private static RequestSpecification as(String key) {
        RequestSpecification spec = given().contentType(ContentType.JSON);
        return key == null ? spec : spec.header("Authorization", "Bearer " + key);
    }

    @Test
    void modelsNeedAnApiKey() {
        as(null).get("/v1/models").then().statusCode(401).body("error.code", equalTo("invalid_api_key"));
        as("wrong").get("/v1/models").then().statusCode(401).body("error.type", equalTo("invalid_request_error"));
        as("key-two").get("/v1/models").then().statusCode(200).body("data[0].id", equalTo("flexidepth-demo"));
        given().header("Authorization", "bearer key-one").get("/v1/models").then().statusCode(200);
    }

    @Test
    void completionsNeedAnApiKey() {
        as(null).body(CHAT).post("/v1/chat/completions").then().statusCode(401);
        as("key-on").body(CHAT).post("/v1/chat/completions").then().statusCode(401);
        as("key-one").body(CHAT).post("/v1/chat/completions").then().statusCode(200);
        as("wrong").body("{\"model\":\"flexidepth-demo\",\"prompt\":\"a\",\"max_tokens\":1}").post("/v1/completions").then().statusCode(401);
        as("key-two").body("{\"model\":\"flexidepth-demo\",\"prompt\":\"a\",\"max_tokens\":1}").post("/v1/completions").then().statusCode(200);
    }

    @Test
    void adminNeedsTheAdminTokenNotAnApiKey() {
        as(null).get("/admin/v1/fine_tuning/jobs").then().statusCode(401).body("error.code", equalTo("invalid_admin_token"));
        as("key-one").get("/admin/v1/fine_tuning/jobs").then().statusCode(401);
        as("admin-secret").get("/admin/v1/fine_tuning/jobs").then().statusCode(not(401));
    }

    @Test
    void everyAdminGroupNeedsTheAdminToken() {
        for (String path : java.util.List.of("/admin/v1/files", "/admin/v1/files/file-000000000000000000000000",
                "/admin/v1/fine_tuning/jobs/ftjob-none", "/admin/v1/fine_tuning/jobs/ftjob-none/events",
                "/admin/v1/fine_tuning/jobs/ftjob-none/checkpoints", "/admin/v1/models")) {
            as(null).get(path).then().statusCode(401).body("error.code", equalTo("invalid_admin_token"));
            as("wrong").get(path).then().statusCode(401);
            as("key-two").get(path).then().statusCode(401);
            as("admin-secret").get(path).then().statusCode(org.hamcrest.Matchers.oneOf(200, 404));
        }
        given().multiPart("purpose", "fine-tune").multiPart("file", "t.jsonl", "{}".getBytes()).post("/admin/v1/files")
                .then().statusCode(401);
        as("key-one").body("{}").post("/admin/v1/fine_tuning/jobs/ftjob-none/cancel").then().statusCode(401);
        as(null).body("{\"fine_tuning_job_id\":\"x\"}").post("/admin/v1/models").then().statusCode(401);
        as("admin-secret").body("{\"fine_tuning_job_id\":\"ftjob-none\"}").post("/admin/v1/models").then().statusCode(404);
    }

    @Test
    void corsIsOffByDefault() {
        var preflight = given().header("Origin", "https://elsewhere.example").header("Access-Control-Request-Method", "POST")
                .options("/v1/chat/completions");
        org.junit.jupiter.api.Assertions.assertNull(preflight.getHeader("Access-Control-Allow-Origin"),
                "no cross-origin access unless quarkus.http.cors is configured");
        org.junit.jupiter.api.Assertions.assertNull(as("key-one").header("Origin", "https://elsewhere.example")
                .get("/v1/models").getHeader("Access-Control-Allow-Origin"));
    }

    @Test
    void healthAndMetricsStayOpen() {
        as(null).get("/q/health/ready").then().statusCode(200);
        as(null).get("/q/metrics").then().statusCode(200);
        as(null).get("/").then().statusCode(200);
    }
}
