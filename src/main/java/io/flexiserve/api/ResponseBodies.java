package io.flexiserve.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/** The JSON shapes FlexiServe answers with, as OpenAI defines them, plus our {@code flexidepth} fields. */
final class ResponseBodies {

    private ResponseBodies() {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChatCompletion(String id, String object, long created, String model, List<ChatChoice> choices, Usage usage) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChatChoice(int index, ChatMessageOut message,
                      @JsonInclude(JsonInclude.Include.ALWAYS) ChatLogprobs logprobs,
                      @JsonProperty("finish_reason") String finishReason, ChoiceLayers flexidepth) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChatMessageOut(String role, @JsonInclude(JsonInclude.Include.ALWAYS) String content,
                          @JsonProperty("tool_calls") List<ToolCallOut> toolCalls) {
    }

    record ToolCallOut(String id, String type, FunctionCallOut function) {
    }

    record FunctionCallOut(String name, String arguments) {
    }

    /** A streamed piece of a tool call: index always; id, type and name on its first piece; then arguments text. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ToolCallDelta(int index, String id, String type, FunctionDelta function) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record FunctionDelta(String name, String arguments) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChatCompletionChunk(String id, String object, long created, String model, List<ChunkChoice> choices,
                               Usage usage) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChunkChoice(int index, Delta delta, @JsonInclude(JsonInclude.Include.ALWAYS) ChatLogprobs logprobs,
                       @JsonInclude(JsonInclude.Include.ALWAYS) @JsonProperty("finish_reason") String finishReason,
                       ChoiceLayers flexidepth) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Delta(String role, String content, @JsonProperty("tool_calls") List<ToolCallDelta> toolCalls) {

        Delta(String role, String content) {
            this(role, content, null);
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record TextCompletion(String id, String object, long created, String model, List<TextChoice> choices, Usage usage) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record TextChoice(int index, String text, @JsonInclude(JsonInclude.Include.ALWAYS) TextLogprobs logprobs,
                      @JsonInclude(JsonInclude.Include.ALWAYS) @JsonProperty("finish_reason") String finishReason,
                      ChoiceLayers flexidepth) {
    }

    /**
     * {@code flexidepth}: per token of the choice (or of the chunk's delta), the layers it used and which routed
     * layers ran ('1') or took the adapter ('0'), in routed-layer order.
     */
    record ChoiceLayers(List<Integer> layers, List<String> routed) {

        static ChoiceLayers of(List<TokenDepth> depths) {
            return new ChoiceLayers(depths.stream().map(TokenDepth::layers).toList(),
                    depths.stream().map(TokenDepth::routed).toList());
        }
    }

    record Usage(@JsonProperty("prompt_tokens") int promptTokens,
                 @JsonProperty("completion_tokens") int completionTokens,
                 @JsonProperty("total_tokens") int totalTokens,
                 @JsonProperty("prompt_tokens_details") PromptTokensDetails promptTokensDetails,
                 FlexiDepthUsage flexidepth) {
    }

    /** {@code cached_tokens}: prompt tokens whose keys and values came from the prefix cache, not computed again. */
    record PromptTokensDetails(@JsonProperty("cached_tokens") int cachedTokens) {
    }

    record FlexiDepthUsage(@JsonProperty("avg_layers_per_token") double avgLayersPerToken,
                           @JsonProperty("num_layers") int numLayers,
                           @JsonProperty("routed_layers") List<Integer> routedLayers) {
    }

    /** Chat logprobs: {@code {"content": [{token, logprob, bytes, top_logprobs: [...]}, ...]}}. */
    record ChatLogprobs(List<TokenLogprobOut> content) {
    }

    record TokenLogprobOut(String token, float logprob, int[] bytes,
                           @JsonProperty("top_logprobs") List<TopLogprobOut> topLogprobs) {
    }

    record TopLogprobOut(String token, float logprob, int[] bytes) {
    }

    /** Legacy completions logprobs, parallel lists. */
    record TextLogprobs(List<String> tokens, @JsonProperty("token_logprobs") List<Float> tokenLogprobs,
                        @JsonProperty("top_logprobs") List<Map<String, Float>> topLogprobs,
                        @JsonProperty("text_offset") List<Integer> textOffset) {
    }

    record ModelList(String object, List<ModelCard> data) {
    }

    record ModelCard(String id, String object, long created, @JsonProperty("owned_by") String ownedBy,
                     @JsonProperty("max_model_len") int maxModelLen, FlexiDepthInfo flexidepth) {
    }

    record FlexiDepthInfo(@JsonProperty("num_layers") int numLayers, @JsonProperty("routed_layers") List<Integer> routedLayers) {
    }
}
