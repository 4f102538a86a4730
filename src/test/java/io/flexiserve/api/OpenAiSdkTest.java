package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.models.Model;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK as the client, against the demo model. */
@QuarkusTest
class OpenAiSdkTest {

    static final String MODEL = "flexidepth-demo";

    @TestHTTPResource("/v1")
    URI base;

    private OpenAIClient client;

    @BeforeEach
    void connect() {
        client = TestSupport.openAi(base);
    }

    private ChatCompletionCreateParams.Builder chat(String prompt, long maxTokens) {
        return ChatCompletionCreateParams.builder().model(MODEL).addUserMessage(prompt).maxCompletionTokens(maxTokens)
                .temperature(0.0).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true));
    }

    @Test
    void listsAndGetsTheModel() {
        List<Model> models = client.models().list().data();
        assertEquals(List.of(MODEL), models.stream().map(Model::id).toList());
        Model model = client.models().retrieve(MODEL);
        assertEquals(MODEL, model.id());
        assertEquals(4096L, model._additionalProperties().get("max_model_len").convert(Long.class));
    }

    @Test
    void chatCompletionWithFlexiDepthUsage() {
        ChatCompletion completion = client.chat().completions().create(chat("Hello there!", 12)
                .putAdditionalBodyProperty("flexidepth", JsonValue.from(Map.of("return_layers", true))).build());
        assertEquals(1, completion.choices().size());
        var usage = completion.usage().orElseThrow();
        assertEquals(12, usage.completionTokens());
        assertTrue(usage.promptTokens() > 10);
        assertEquals(usage.promptTokens() + usage.completionTokens(), usage.totalTokens());
        @SuppressWarnings("unchecked")
        Map<String, Object> flexi = usage._additionalProperties().get("flexidepth").convert(Map.class);
        assertEquals(8, ((Number) flexi.get("num_layers")).intValue());
        double avg = ((Number) flexi.get("avg_layers_per_token")).doubleValue();
        assertTrue(avg >= 4 && avg <= 8, "between the unrouted 4 and all 8 layers: " + avg);
        @SuppressWarnings("unchecked")
        List<Integer> layers = (List<Integer>) completion.choices().get(0)._additionalProperties().get("flexidepth")
                .convert(Map.class).get("layers");
        assertEquals(12, layers.size(), "one layer count per generated token");
        assertEquals(avg, layers.stream().mapToInt(Integer::intValue).average().orElseThrow(), 1e-3);
    }

    @Test
    void streamingMatchesNonStreamingAndEndsWithUsage() {
        String whole = client.chat().completions().create(chat("Count with me", 16).build())
                .choices().get(0).message().content().orElse("");
        StringBuilder streamed = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(chat("Count with me", 16)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(chunk -> {
                chunks.add(chunk);
                chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append));
            });
        }
        assertEquals(whole, streamed.toString());
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertTrue(last.choices().isEmpty(), "the usage chunk has no choices");
        assertEquals(16, last.usage().orElseThrow().completionTokens());
        assertEquals("length", chunks.get(chunks.size() - 2).choices().get(0).finishReason().orElseThrow().asString());
        assertEquals(1, chunks.stream().map(ChatCompletionChunk::id).distinct().count(), "one id for the whole stream");
    }

    @Test
    void textCompletion() {
        Completion completion = client.completions().create(CompletionCreateParams.builder().model(MODEL)
                .prompt("Once upon a time").maxTokens(6).temperature(0.0).n(2)
                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build());
        assertEquals(2, completion.choices().size());
        assertEquals(completion.choices().get(0).text(), completion.choices().get(1).text(), "greedy choices agree");
        assertEquals(12, completion.usage().orElseThrow().completionTokens());
        assertFalse(completion.choices().get(0).finishReason().asString().isEmpty());
    }

    @Test
    void unknownModelAndContextOverflowAreOpenAiErrors() {
        NotFoundException notFound = assertThrows(NotFoundException.class, () -> client.chat().completions().create(
                ChatCompletionCreateParams.builder().model("gpt-4o").addUserMessage("hi").build()));
        assertEquals(404, notFound.statusCode());
        assertEquals("model_not_found", notFound.code().orElseThrow());
        BadRequestException tooLong = assertThrows(BadRequestException.class,
                () -> client.chat().completions().create(chat("x".repeat(5000), 10).build()));
        assertTrue(tooLong.getMessage().contains("maximum context length is 4096 tokens"), tooLong.getMessage());
        assertEquals("context_length_exceeded", tooLong.code().orElseThrow());
    }
}
