package io.flexiserve.engine;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Picks a token from one row of logits: argmax when greedy, otherwise softmax(logits / temperature)
 * truncated by top-k, min-p and top-p (in that order, as vLLM applies them), then one draw from the
 * generator. Temperature is applied here and only here.
 */
public final class Sampler {

    private Sampler() {
    }

    public static int sample(float[] logits, SamplingParams params, RandomGenerator random) {
        if (params.greedy()) {
            return argmax(logits);
        }
        int[] order = byDescendingLogit(logits, params.topK());
        double max = logits[order[0]];
        double[] probs = new double[order.length];
        double sum = 0;
        for (int i = 0; i < order.length; i++) {
            probs[i] = Math.exp((logits[order[i]] - max) / params.temperature());
            sum += probs[i];
        }
        int keep = order.length;
        for (int i = 0; i < order.length; i++) {
            probs[i] /= sum;
            if (params.minP() > 0 && probs[i] < params.minP() * probs[0]) {
                keep = Math.min(keep, i);
            }
        }
        double mass = 0;
        for (int i = 0; i < keep; i++) {
            mass += probs[i];
            if (mass >= params.topP()) {
                keep = i + 1;
                break;
            }
        }
        double kept = 0;
        for (int i = 0; i < keep; i++) {
            kept += probs[i];
        }
        double u = random.nextDouble() * kept;
        for (int i = 0; i < keep; i++) {
            u -= probs[i];
            if (u < 0) {
                return order[i];
            }
        }
        return order[keep - 1];
    }

    /** Index of the largest logit; the lowest index wins ties. */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Token ids sorted by descending logit, cut to the top k when k > 0; ties keep id order. */
    private static int[] byDescendingLogit(float[] logits, int topK) {
        Integer[] ids = new Integer[logits.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        Arrays.sort(ids, (a, b) -> Float.compare(logits[b], logits[a]));
        int n = topK > 0 ? Math.min(topK, ids.length) : ids.length;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = ids[i];
        }
        return out;
    }
}
