package io.flexiserve.engine;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Picks a token from one row of logits: argmax when greedy, otherwise softmax(logits / temperature)
 * truncated by top-k, then top-p (over the mass left by top-k), then min-p, and one draw from the
 * sequence's generator. Temperature is applied here and only here. Only the few tokens that can survive
 * the truncations are sorted, so a 128K vocabulary costs one pass over the logits, not a sort.
 */
public final class Sampler {

    /** First guess at the probability, relative to the top one, below which tokens cannot matter. */
    private static final double FIRST_CUTOFF = 1e-4;

    /** Drawable tokens (weight above 0) few enough to sort all at once instead of lowering a cutoff for them. */
    private static final int SORT_ALL_BELOW = 4096;

    private Sampler() {
    }

    public static int sample(float[] logits, SamplingParams params, RandomGenerator random) {
        if (params.greedy()) {
            return argmax(logits);
        }
        double max = logits[argmax(logits)];
        double[] weights = new double[logits.length]; // unnormalised probabilities, the top one is 1
        double total = 0;
        for (int i = 0; i < logits.length; i++) {
            weights[i] = Math.exp((logits[i] - max) / params.temperature());
            total += weights[i];
        }
        int topK = params.topK() >= logits.length ? 0 : params.topK(); // k past the vocabulary keeps every token
        if (topK == 0 && params.topP() >= 1) {
            return drawAbove(weights, params.minP(), random);
        }
        int[] kept = truncate(weights, total, topK, params.topP(), params.minP());
        double mass = 0;
        for (int id : kept) {
            mass += weights[id];
        }
        double u = random.nextDouble() * mass;
        for (int id : kept) {
            u -= weights[id];
            if (u < 0) {
                return id;
            }
        }
        return kept[kept.length - 1];
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

    /** No top-k or top-p: draw among tokens with weight >= minP and above 0 (the top weight is 1). */
    private static int drawAbove(double[] weights, double minP, RandomGenerator random) {
        double mass = 0;
        for (double w : weights) {
            mass += w >= minP ? w : 0;
        }
        double u = random.nextDouble() * mass;
        int last = 0;
        for (int i = 0; i < weights.length; i++) {
            if (weights[i] >= minP && weights[i] > 0) { // the last one drawable stands in for rounding
                last = i;
                u -= weights[i];
                if (u < 0) {
                    return i;
                }
            }
        }
        return last;
    }

    /**
     * The tokens surviving top-k, top-p and min-p, most likely first. Candidates are gathered above a
     * cutoff and sorted; if they cannot decide top-k or top-p, the cutoff is lowered and they are
     * gathered again, so the result is exact. Tokens of weight 0 (masked by a grammar, or underflowed at a low
     * temperature) can never be drawn and are never gathered: once every drawable token is a candidate, or when
     * there are few, the candidates are complete.
     */
    private static int[] truncate(double[] weights, double total, int topK, double topP, double minP) {
        int drawable = 0;
        for (double w : weights) {
            drawable += w > 0 ? 1 : 0;
        }
        for (double cutoff = FIRST_CUTOFF; ; cutoff *= FIRST_CUTOFF) {
            boolean all = cutoff < Double.MIN_NORMAL || drawable < SORT_ALL_BELOW;
            int[] sorted = sortedAbove(weights, all ? Double.MIN_VALUE : cutoff);
            boolean complete = sorted.length == drawable;
            int keep = topK > 0 ? Math.min(topK, sorted.length) : sorted.length;
            if (topK > 0 && sorted.length < topK && !complete) {
                continue; // not enough candidates to fill k
            }
            double kMass = topK > 0 && keep == topK ? prefixMass(weights, sorted, keep) : total;
            double mass = 0;
            int nucleus = -1;
            for (int i = 0; i < keep; i++) {
                mass += weights[sorted[i]];
                if (mass >= topP * kMass) {
                    nucleus = i + 1;
                    break;
                }
            }
            if (nucleus < 0 && topP < 1 && keep == sorted.length && !complete) {
                continue; // the nucleus reaches below the cutoff
            }
            keep = nucleus > 0 ? nucleus : keep;
            int n = 1;
            while (n < keep && weights[sorted[n]] >= minP) {
                n++;
            }
            return Arrays.copyOf(sorted, n);
        }
    }

    private static double prefixMass(double[] weights, int[] sorted, int n) {
        double mass = 0;
        for (int i = 0; i < n; i++) {
            mass += weights[sorted[i]];
        }
        return mass;
    }

    /** Ids with weight >= cutoff, by descending weight, ties by id. */
    private static int[] sortedAbove(double[] weights, double cutoff) {
        int count = 0;
        for (double w : weights) {
            count += w >= cutoff ? 1 : 0;
        }
        Integer[] ids = new Integer[count];
        for (int i = 0, k = 0; i < weights.length; i++) {
            if (weights[i] >= cutoff) {
                ids[k++] = i;
            }
        }
        Arrays.sort(ids, (a, b) -> Double.compare(weights[b], weights[a]));
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = ids[i];
        }
        return out;
    }
}
