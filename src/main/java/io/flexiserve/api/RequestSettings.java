package io.flexiserve.api;

import io.flexiserve.engine.SamplingParams;
import java.util.List;

/**
 * What a validated request asks for, beyond its prompt.
 *
 * @param sampling     sampling without a seed (each choice gets {@link #seedFor})
 * @param maxTokens    requested completion length, or null for "up to the context limit"
 * @param stop         stop strings (not included in the output)
 * @param n            choices per prompt
 * @param topLogprobs  -1 when no logprobs were asked for
 * @param threshold    FlexiDepth routing threshold
 * @param returnLayers whether choices carry per-token layer counts
 * @param ignoreEos    generate past the checkpoint's stop ids (vLLM's {@code ignore_eos})
 */
record RequestSettings(SamplingParams sampling, Long seed, Integer maxTokens, List<String> stop, int n, boolean stream,
                       boolean includeUsage, int topLogprobs, float threshold, boolean returnLayers, boolean ignoreEos) {

    /** Choice i of a seeded request draws from seed + i, so choices differ yet the request repeats exactly. */
    SamplingParams seedFor(int choice) {
        Long choiceSeed = seed == null ? null : seed + choice;
        return new SamplingParams(sampling.temperature(), sampling.topP(), sampling.topK(), sampling.minP(),
                sampling.presencePenalty(), sampling.frequencyPenalty(), sampling.repetitionPenalty(),
                sampling.logitBias(), choiceSeed);
    }
}
