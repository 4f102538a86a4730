package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A base model's checkpoint has no chat template: it is served for completions, and chat is refused saying why. */
@QuarkusTest
@TestProfile(NoChatTemplateTest.BaseModel.class)
class NoChatTemplateTest {

    /** The demo checkpoint without its chat_template. */
    public static class BaseModel implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return TestSupport.demoWithTokenizerConfig("base", tokenizer -> tokenizer.remove("chat_template"));
        }
    }

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    @Test
    void completionsServeAndChatSaysWhyNot() {
        given().contentType(ContentType.JSON).body("{\"model\":\"base\",\"prompt\":\"Hello\",\"max_tokens\":3,"
                + "\"ignore_eos\":true}").post("/v1/completions").then().statusCode(200)
                .body("usage.completion_tokens", equalTo(3));
        given().contentType(ContentType.JSON).body("{\"model\":\"base\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
                .post("/v1/chat/completions").then().statusCode(400)
                .body("error.message", containsString("no chat template"));
    }
}
