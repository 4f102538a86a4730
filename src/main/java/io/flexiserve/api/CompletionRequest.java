package io.flexiserve.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * The body of {@code POST /v1/completions}: {@code prompt} is a string, a list of strings, a list of token
 * ids, or a list of such lists, as OpenAI allows.
 */
public record CompletionRequest(
        String model,
        JsonNode prompt,
        String suffix,
        @JsonProperty("max_tokens") Integer maxTokens,
        Double temperature,
        @JsonProperty("top_p") Double topP,
        @JsonProperty("top_k") Integer topK,
        @JsonProperty("min_p") Double minP,
        Integer n,
        JsonNode stop,
        Boolean stream,
        @JsonProperty("stream_options") StreamOptions streamOptions,
        Integer logprobs,
        Boolean echo,
        @JsonProperty("presence_penalty") Double presencePenalty,
        @JsonProperty("frequency_penalty") Double frequencyPenalty,
        @JsonProperty("repetition_penalty") Double repetitionPenalty,
        @JsonProperty("best_of") Integer bestOf,
        @JsonProperty("logit_bias") Map<String, Double> logitBias,
        Long seed,
        String user,
        FlexiDepthOptions flexidepth,
        @JsonProperty("ignore_eos") Boolean ignoreEos,
        @JsonProperty("structured_outputs") OutputConstraint structuredOutputs) implements SamplingFields {
}
