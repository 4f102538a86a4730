package io.flexiserve.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The sampler's truncations and temperature, checked by frequencies over many seeded draws. */
class SamplerTest {

    private static final float[] LOGITS = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f};

    @Test
    void greedyTakesTheArgmaxAndTheLowestIdOnTies() {
        assertEquals(0, Sampler.sample(LOGITS, SamplingParams.GREEDY, new Random(1)));
        assertEquals(1, Sampler.argmax(new float[] {0, 3, 3, 1}));
    }

    @Test
    void temperatureOneDrawsInProportionToSoftmax() {
        int[] counts = draw(SamplingParams.of(1, 1, 0, 0), 40_000);
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l);
        }
        for (int i = 0; i < LOGITS.length; i++) {
            double expected = Math.exp(LOGITS[i]) / z;
            assertEquals(expected, counts[i] / 40_000.0, 0.01, "token " + i);
        }
    }

    @Test
    void topKTopPAndMinPTruncate() {
        int[] topK = draw(SamplingParams.of(1, 1, 2, 0), 5_000);
        assertEquals(5_000, topK[0] + topK[1], "top_k 2 keeps tokens 0 and 1 only");
        // probabilities 0.53, 0.19, 0.12, 0.07, 0.03: top_p 0.7 needs the first two
        int[] topP = draw(SamplingParams.of(1, 0.7, 0, 0), 5_000);
        assertEquals(5_000, topP[0] + topP[1], "top_p 0.7 keeps tokens 0 and 1");
        // min_p 0.3: keep p >= 0.3 * 0.53 = 0.16, tokens 0 and 1
        int[] minP = draw(SamplingParams.of(1, 1, 0, 0.3), 5_000);
        assertEquals(5_000, minP[0] + minP[1], "min_p 0.3 keeps tokens 0 and 1");
        assertTrue(minP[1] > 500, "token 1 still drawn");
    }

    @Test
    void lowTemperatureConcentratesAndSeedsRepeat() {
        int[] cold = draw(SamplingParams.of(0.1, 1, 0, 0), 2_000);
        assertTrue(cold[0] > 1_990, "temperature 0.1 almost always picks the top token: " + cold[0]);
        assertEquals(drawSequence(7), drawSequence(7));
    }

    @Test
    void aTopKPastTheVocabularyKeepsEveryTokenAsNoTopKDoes() {
        float[] shuffled = {0.5f, 2.0f, -1.0f, 1.0f, 0.0f}; // not in order of likelihood
        Random a = new Random(3);
        Random b = new Random(3);
        for (int i = 0; i < 200; i++) {
            assertEquals(Sampler.sample(shuffled, SamplingParams.of(1, 1, 0, 0), a),
                    Sampler.sample(shuffled, SamplingParams.of(1, 1, 1_000_000, 0), b), "draw " + i);
        }
    }

    /** A grammar masks all but a few tokens of a large vocabulary: top-k larger than what is left keeps what is left. */
    @Test
    void topKBeyondTheTokensAGrammarLeavesDrawsOnlyThose() {
        float[] logits = new float[128_256];
        java.util.Arrays.fill(logits, Float.NEGATIVE_INFINITY);
        logits[7] = 1f;
        logits[70_000] = 0.5f;
        logits[128_000] = -30f; // weight about 1e-14: drawable, but outside this top_p's nucleus
        Random random = new Random(5);
        int[] counts = new int[3];
        for (int i = 0; i < 2_000; i++) {
            int id = Sampler.sample(logits, SamplingParams.of(1, 0.999999999, 40, 0), random);
            assertTrue(id == 7 || id == 70_000 || id == 128_000, "a masked token was drawn: " + id);
            counts[id == 7 ? 0 : id == 70_000 ? 1 : 2]++;
        }
        assertEquals(0.62, counts[0] / 2_000.0, 0.04, "token 7 in proportion to its weight");
    }

    @Test
    void invalidParametersAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.of(-1, 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.of(1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.of(1, 1, -3, 0));
    }

    private static String drawSequence(long seed) {
        Random random = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            sb.append(Sampler.sample(LOGITS, SamplingParams.of(1, 1, 0, 0), random));
        }
        return sb.toString();
    }

    private static int[] draw(SamplingParams params, int n) {
        Random random = new Random(42);
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < n; i++) {
            counts[Sampler.sample(LOGITS, params, random)]++;
        }
        return counts;
    }
}
