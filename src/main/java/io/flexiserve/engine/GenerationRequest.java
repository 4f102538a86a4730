package io.flexiserve.engine;

import java.util.Set;

/**
 * One sequence to generate.
 *
 * @param promptIds    the prompt's token ids (at least one)
 * @param sampling     how to pick tokens
 * @param maxTokens    most tokens to generate
 * @param stopTokenIds ids that end the generation (not emitted); usually the checkpoint's eos ids
 * @param threshold    FlexiDepth routing cut for this sequence (0.5 in the release)
 * @param topLogprobs  -1 for no logprobs; otherwise the chosen token's logprob plus this many alternatives
 * @param constraint   the tokens allowed at each step (a structured output), or null for any
 */
public record GenerationRequest(int[] promptIds, SamplingParams sampling, int maxTokens, Set<Integer> stopTokenIds,
                                float threshold, int topLogprobs, TokenConstraint constraint) {

    /** A request whose tokens are not constrained. */
    public GenerationRequest(int[] promptIds, SamplingParams sampling, int maxTokens, Set<Integer> stopTokenIds,
                             float threshold, int topLogprobs) {
        this(promptIds, sampling, maxTokens, stopTokenIds, threshold, topLogprobs, null);
    }

    public GenerationRequest {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt must contain at least one token");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1");
        }
        stopTokenIds = Set.copyOf(stopTokenIds);
    }

    /** KV cache rows the sequence may need: prompt plus everything it may generate but the last token. */
    public int kvTokens() {
        return promptIds.length + maxTokens - 1;
    }
}
