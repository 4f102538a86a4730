package io.flexiserve.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.CompletionUsage;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code usage.prompt_tokens_details.cached_tokens} through the OpenAI Java SDK, streamed and not. */
@QuarkusTest
class PrefixCachingApiTest {

    @TestHTTPResource("/v1")
    URI base;

    private OpenAIClient client;

    @BeforeEach
    void connect() {
        client = TestSupport.openAi(base);
    }

    private static ChatCompletionCreateParams.Builder chat(String system, String user) {
        return ChatCompletionCreateParams.builder().model("flexidepth-demo").addSystemMessage(system).addUserMessage(user)
                .maxCompletionTokens(4).temperature(0.0).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true));
    }

    @Test
    void aSharedSystemPromptIsReadFromTheCacheTheSecondTime() {
        String system = "You are a careful assistant of the prefix-caching test. ".repeat(20); // ~1100 byte tokens
        ChatCompletion first = client.chat().completions().create(chat(system, "First question?").build());
        CompletionUsage usage = first.usage().orElseThrow();
        long prompt = usage.promptTokens();
        assertTrue(prompt > 1000, "a long system prompt: " + prompt);
        ChatCompletion second = client.chat().completions().create(chat(system, "Another question!").build());
        long cached = second.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElseThrow();
        assertTrue(cached >= prompt - 64 && cached < second.usage().orElseThrow().promptTokens(),
                "the shared system prompt's blocks, not the new question: " + cached + " of " + prompt);
        assertEquals(0, cached % 16, "whole blocks");

        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
                chat(system, "Third, streamed.").streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true)
                        .build()).build())) {
            long streamed = stream.stream().filter(c -> c.usage().isPresent()).findFirst().orElseThrow().usage()
                    .orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElseThrow();
            assertEquals(cached, streamed, "the usage chunk reports it too");
        }
    }
}
