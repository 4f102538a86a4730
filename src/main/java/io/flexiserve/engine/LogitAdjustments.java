package io.flexiserve.engine;

import java.util.Map;

/**
 * Rewrites one row of logits before sampling, in OpenAI's and vLLM's order: logit_bias, then the
 * repetition penalty over prompt and output tokens, then frequency and presence penalties over output
 * tokens: {@code l -= frequency * count + presence * (count > 0)}.
 */
final class LogitAdjustments {

    private LogitAdjustments() {
    }

    /** A copy of {@code logits} with the sequence's bias and penalties applied. */
    static float[] apply(float[] logits, SamplingParams params, Sequence sequence) {
        float[] out = logits.clone();
        for (Map.Entry<Integer, Float> bias : params.logitBias().entrySet()) {
            if (bias.getKey() < out.length) {
                out[bias.getKey()] += bias.getValue();
            }
        }
        if (params.repetitionPenalty() != 1) {
            float p = (float) params.repetitionPenalty();
            boolean[] seen = new boolean[out.length];
            for (int id : sequence.request.promptIds()) {
                seen[id] = true;
            }
            sequence.outputCounts().keySet().forEach(id -> seen[id] = true);
            for (int id = 0; id < out.length; id++) {
                if (seen[id]) {
                    out[id] = out[id] > 0 ? out[id] / p : out[id] * p;
                }
            }
        }
        if (params.frequencyPenalty() != 0 || params.presencePenalty() != 0) {
            for (Map.Entry<Integer, Integer> count : sequence.outputCounts().entrySet()) {
                out[count.getKey()] -= (float) (params.frequencyPenalty() * count.getValue() + params.presencePenalty());
            }
        }
        return out;
    }
}
