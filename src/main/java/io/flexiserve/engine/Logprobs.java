package io.flexiserve.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/** Log-probabilities of one row of raw model logits: the chosen token's and the k most likely. */
final class Logprobs {

    private final float[] logits;
    private final double logNormalizer; // max + log(sum exp(l - max))

    Logprobs(float[] logits) {
        this.logits = logits;
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        this.logNormalizer = max + Math.log(sum);
    }

    float of(int id) {
        return (float) (logits[id] - logNormalizer);
    }

    /** The k most likely tokens, most likely first (ties by lower id); tokens a constraint refused are never among them. */
    List<TokenLogprob> top(int k) {
        if (k <= 0) {
            return List.of();
        }
        PriorityQueue<Integer> heap = new PriorityQueue<>(k + 1,
                (a, b) -> logits[a] != logits[b] ? Float.compare(logits[a], logits[b]) : Integer.compare(b, a));
        for (int id = 0; id < logits.length; id++) {
            if (logits[id] == Float.NEGATIVE_INFINITY) {
                continue;
            }
            heap.add(id);
            if (heap.size() > k) {
                heap.poll();
            }
        }
        List<TokenLogprob> out = new ArrayList<>(heap.size());
        while (!heap.isEmpty()) {
            int id = heap.poll();
            out.add(0, new TokenLogprob(id, of(id)));
        }
        return out;
    }
}
