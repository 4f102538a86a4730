package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.notNullValue;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

/** The OpenAPI document lists every endpoint, including the Vert.x completion routes, and Swagger UI serves. */
@QuarkusTest
class OpenApiTest {

    @Test
    void documentListsTheApiAndSwaggerUiServes() {
        given().get("/q/openapi?format=json").then().statusCode(200)
                .body("paths.'/v1/chat/completions'.post", notNullValue())
                .body("paths.'/v1/completions'.post", notNullValue())
                .body("paths.'/v1/models'.get", notNullValue())
                .body("paths.'/admin/v1/fine_tuning/jobs'.post", notNullValue())
                .body("paths.'/admin/v1/files'.post", notNullValue())
                .body("components.schemas.FlexiDepth.properties.threshold", notNullValue());
        given().get("/q/swagger-ui/").then().statusCode(200).body(containsString("swagger"));
        given().get("/").then().statusCode(200).body(containsString("depth playground"));
    }
}
