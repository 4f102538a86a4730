package io.flexiserve.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** logit_bias and the three penalties against their formulas, on a sequence with a known history. */
class LogitAdjustmentsTest {

    private static final float[] LOGITS = {2f, -1f, 0.5f, 3f, -2f};

    /** Prompt [0, 4], output so far [3, 3, 1]. */
    private static Sequence history(SamplingParams params) {
        Sequence s = new Sequence(new GenerationRequest(new int[] {0, 4}, params, 10, Set.of(), 0.5f, -1), null, null);
        s.append(3);
        s.append(3);
        s.append(1);
        return s;
    }

    private static SamplingParams params(double presence, double frequency, double repetition, Map<Integer, Float> bias) {
        return new SamplingParams(1, 1, 0, 0, presence, frequency, repetition, bias, null);
    }

    @Test
    void logitBiasIsAdded() {
        SamplingParams p = params(0, 0, 1, Map.of(2, 5f, 4, -100f));
        assertArrayEquals(new float[] {2f, -1f, 5.5f, 3f, -102f}, LogitAdjustments.apply(LOGITS, p, history(p)), 1e-6f);
    }

    @Test
    void frequencyAndPresencePenaliseOutputTokensOnly() {
        SamplingParams p = params(0.5, 0.25, 1, Map.of());
        // token 3 occurred twice: 3 - (0.25 * 2 + 0.5); token 1 once: -1 - (0.25 + 0.5); prompt tokens untouched
        assertArrayEquals(new float[] {2f, -1.75f, 0.5f, 2f, -2f}, LogitAdjustments.apply(LOGITS, p, history(p)), 1e-6f);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeSeenLogits() {
        SamplingParams p = params(0, 0, 2, Map.of());
        // seen: prompt {0, 4} and output {3, 1}; token 2 unseen
        assertArrayEquals(new float[] {1f, -2f, 0.5f, 1.5f, -4f}, LogitAdjustments.apply(LOGITS, p, history(p)), 1e-6f);
    }
}
