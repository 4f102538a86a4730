package io.flexiserve.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.util.Collections;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each configured limit: just under passes, just over gets a 400 naming the field. */
@QuarkusTest
@TestProfile(LimitsTest.SmallLimits.class)
class LimitsTest {

    /** Small limits so that both sides of each are cheap to send. */
    public static class SmallLimits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("flexiserve.limits.max-n", "3", "flexiserve.limits.max-choices", "4",
                    "flexiserve.limits.max-stop", "2", "flexiserve.limits.max-stop-length", "5",
                    "flexiserve.limits.max-logit-bias", "2", "flexiserve.limits.max-messages", "3",
                    "flexiserve.limits.max-prompts", "2", "flexiserve.limits.max-tokens", "6",
                    "flexiserve.api.max-body-bytes", "2048");
        }
    }

    @BeforeEach
    void ready() {
        TestSupport.awaitReady();
    }

    private static void completion(String extra, int status, String param) {
        var r = given().contentType(ContentType.JSON)
                .body("{\"model\":\"flexidepth-demo\",\"max_tokens\":1,\"ignore_eos\":true" + extra + "}")
                .post("/v1/completions").then().statusCode(status);
        if (param != null) {
            r.body("error.param", equalTo(param));
        }
    }

    private static String messages(int count) {
        return IntStream.range(0, count).mapToObj(i -> "{\"role\":\"user\",\"content\":\"m" + i + "\"}")
                .collect(Collectors.joining(",", "[", "]"));
    }

    @Test
    void nAndChoices() {
        completion(",\"prompt\":\"a\",\"n\":3", 200, null);
        completion(",\"prompt\":\"a\",\"n\":4", 400, "n");
        completion(",\"prompt\":[\"a\",\"b\"],\"n\":2", 200, null);
        completion(",\"prompt\":[\"a\",\"b\"],\"n\":3", 400, "n");
    }

    @Test
    void stopStrings() {
        completion(",\"prompt\":\"a\",\"stop\":[\"abcde\",\"x\"]", 200, null);
        completion(",\"prompt\":\"a\",\"stop\":[\"a\",\"b\",\"c\"]", 400, "stop");
        completion(",\"prompt\":\"a\",\"stop\":\"abcdef\"", 400, "stop");
    }

    @Test
    void logitBiasEntries() {
        completion(",\"prompt\":\"a\",\"logit_bias\":{\"1\":1,\"2\":2}", 200, null);
        completion(",\"prompt\":\"a\",\"logit_bias\":{\"1\":1,\"2\":2,\"3\":3}", 400, "logit_bias");
    }

    @Test
    void promptsAndMessages() {
        completion(",\"prompt\":[\"a\",\"b\"]", 200, null);
        completion(",\"prompt\":[\"a\",\"b\",\"c\"]", 400, "prompt");
        given().contentType(ContentType.JSON).body("{\"model\":\"flexidepth-demo\",\"max_tokens\":1,\"messages\":" + messages(3) + "}")
                .post("/v1/chat/completions").then().statusCode(200);
        given().contentType(ContentType.JSON).body("{\"model\":\"flexidepth-demo\",\"max_tokens\":1,\"messages\":" + messages(4) + "}")
                .post("/v1/chat/completions").then().statusCode(400).body("error.param", equalTo("messages"));
    }

    @Test
    void maxTokensIsCappedAndAnUnsetOneUsesTheCap() {
        given().contentType(ContentType.JSON).body("{\"model\":\"flexidepth-demo\",\"prompt\":\"a\",\"max_tokens\":6,\"ignore_eos\":true}")
                .post("/v1/completions").then().statusCode(200).body("usage.completion_tokens", equalTo(6));
        given().contentType(ContentType.JSON).body("{\"model\":\"flexidepth-demo\",\"prompt\":\"a\",\"max_tokens\":7}")
                .post("/v1/completions").then().statusCode(400).body("error.param", equalTo("max_tokens"));
        given().contentType(ContentType.JSON).body("{\"model\":\"flexidepth-demo\",\"prompt\":\"a\",\"ignore_eos\":true}")
                .post("/v1/completions").then().statusCode(200).body("usage.completion_tokens", equalTo(6));
    }

    @Test
    void bodySize() {
        String padding = String.join("", Collections.nCopies(1800, "a"));
        completion(",\"prompt\":\"" + padding.substring(0, 1700) + "\"", 200, null);
        completion(",\"prompt\":\"" + padding + padding + "\"", 413, null);
    }
}
