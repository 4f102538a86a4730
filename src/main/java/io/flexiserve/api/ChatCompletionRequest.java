package io.flexiserve.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * The body of {@code POST /v1/chat/completions}. Fields that would change the meaning of the request and
 * that FlexiServe does not implement (functions, audio, ...) are declared so that they can be refused by name;
 * unknown fields are refused too.
 */
public record ChatCompletionRequest(
        String model,
        List<Message> messages,
        Double temperature,
        @JsonProperty("top_p") Double topP,
        @JsonProperty("top_k") Integer topK,
        @JsonProperty("min_p") Double minP,
        Integer n,
        @JsonProperty("max_tokens") Integer maxTokens,
        @JsonProperty("max_completion_tokens") Integer maxCompletionTokens,
        JsonNode stop,
        Boolean stream,
        @JsonProperty("stream_options") StreamOptions streamOptions,
        @JsonProperty("presence_penalty") Double presencePenalty,
        @JsonProperty("frequency_penalty") Double frequencyPenalty,
        @JsonProperty("repetition_penalty") Double repetitionPenalty,
        @JsonProperty("logit_bias") Map<String, Double> logitBias,
        Boolean logprobs,
        @JsonProperty("top_logprobs") Integer topLogprobs,
        Long seed,
        String user,
        FlexiDepthOptions flexidepth,
        @JsonProperty("ignore_eos") Boolean ignoreEos,
        @JsonProperty("response_format") JsonNode responseFormat,
        JsonNode tools,
        @JsonProperty("tool_choice") JsonNode toolChoice,
        JsonNode functions,
        @JsonProperty("function_call") JsonNode functionCall,
        @JsonProperty("parallel_tool_calls") JsonNode parallelToolCalls,
        JsonNode audio,
        JsonNode modalities,
        JsonNode prediction,
        @JsonProperty("reasoning_effort") JsonNode reasoningEffort,
        @JsonProperty("web_search_options") JsonNode webSearchOptions,
        Boolean store,
        JsonNode metadata,
        @JsonProperty("service_tier") String serviceTier,
        @JsonProperty("structured_outputs") OutputConstraint structuredOutputs) implements SamplingFields {

    /**
     * One message; {@code content} is a string or a list of {@code {"type": "text", "text": ...}} parts (null for
     * an assistant message that only calls tools); {@code tool_calls} an assistant's calls; {@code tool_call_id}
     * the call a {@code tool} message answers. An assistant message sent back as a client received it may carry
     * the reply's {@code refusal}, {@code annotations} and an SDK's {@code parsed} copy of its content: copies of
     * what the conversation already holds, accepted and not used; and its {@code audio} and deprecated
     * {@code function_call}, which an SDK's dump of a reply holds as nulls (accepted only so: FlexiServe makes neither).
     */
    public record Message(String role, JsonNode content, String name, @JsonProperty("tool_calls") JsonNode toolCalls,
                          @JsonProperty("tool_call_id") String toolCallId, JsonNode refusal, JsonNode annotations,
                          JsonNode parsed, JsonNode audio, @JsonProperty("function_call") JsonNode functionCall) {
    }
}
