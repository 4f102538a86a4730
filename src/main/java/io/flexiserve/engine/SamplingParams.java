package io.flexiserve.engine;

import java.util.Map;

/**
 * How to pick each next token of one sequence.
 *
 * @param temperature       0 for greedy (argmax), otherwise logits are divided by it
 * @param topP              keep the smallest set of most likely tokens whose mass reaches topP (1 keeps all)
 * @param topK              keep the k most likely tokens (0 keeps all)
 * @param minP              drop tokens below minP times the top probability (0 keeps all)
 * @param presencePenalty   subtracted once from the logit of every token already generated (OpenAI)
 * @param frequencyPenalty  subtracted per occurrence from the logit of generated tokens (OpenAI)
 * @param repetitionPenalty divides positive and multiplies negative logits of tokens in the prompt or
 *                          the output (CTRL / HF / vLLM); 1 is off
 * @param logitBias         added to the logits of the given token ids before anything else
 * @param seed              seeds this sequence's random generator; null draws a fresh seed
 */
public record SamplingParams(double temperature, double topP, int topK, double minP, double presencePenalty,
                             double frequencyPenalty, double repetitionPenalty, Map<Integer, Float> logitBias,
                             Long seed) {

    public static final SamplingParams GREEDY = of(0, 1, 0, 0);

    public SamplingParams {
        if (temperature < 0 || topP <= 0 || topP > 1 || topK < 0 || minP < 0 || minP > 1 || repetitionPenalty <= 0) {
            throw new IllegalArgumentException("invalid sampling parameters: temperature=" + temperature
                    + " top_p=" + topP + " top_k=" + topK + " min_p=" + minP + " repetition_penalty=" + repetitionPenalty);
        }
        logitBias = Map.copyOf(logitBias);
    }

    /** Truncation and temperature only, no penalties, bias or seed. */
    public static SamplingParams of(double temperature, double topP, int topK, double minP) {
        return new SamplingParams(temperature, topP, topK, minP, 0, 0, 1, Map.of(), null);
    }

    public boolean greedy() {
        return temperature == 0;
    }

    /** Whether logits need rewriting before sampling (bias or penalties). */
    boolean adjustsLogits() {
        return !logitBias.isEmpty() || presencePenalty != 0 || frequencyPenalty != 0 || repetitionPenalty != 1;
    }
}
