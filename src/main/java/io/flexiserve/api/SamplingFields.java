package io.flexiserve.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/** The request fields that chat and text completions share; both request records implement it. */
public interface SamplingFields {

    String model();

    Double temperature();

    Double topP();

    Integer topK();

    Double minP();

    Integer n();

    JsonNode stop();

    Boolean stream();

    StreamOptions streamOptions();

    Double presencePenalty();

    Double frequencyPenalty();

    Double repetitionPenalty();

    Map<String, Double> logitBias();

    Long seed();

    FlexiDepthOptions flexidepth();

    /** vLLM's extension: keep generating past the model's stop ids (benchmarks, fixed-length tests). */
    Boolean ignoreEos();

    /** {@code stream_options}: {@code include_usage} adds a last chunk with {@code choices: []} and the usage. */
    record StreamOptions(@com.fasterxml.jackson.annotation.JsonProperty("include_usage") Boolean includeUsage) {
    }

    /**
     * Our extension: {@code threshold} moves the run/skip cut (default 0.5, the release's; higher skips more),
     * {@code return_layers} adds per-token layer counts to each choice.
     */
    record FlexiDepthOptions(Double threshold, @com.fasterxml.jackson.annotation.JsonProperty("return_layers") Boolean returnLayers) {
    }
}
