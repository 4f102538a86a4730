package io.flexiserve.engine;

/**
 * How to pick each next token.
 *
 * @param temperature 0 for greedy (argmax), otherwise logits are divided by it
 * @param topP        keep the smallest set of most likely tokens whose mass reaches topP (1 keeps all)
 * @param topK        keep the k most likely tokens (0 keeps all)
 * @param minP        drop tokens whose probability is below minP times the top probability (0 keeps all)
 */
public record SamplingParams(double temperature, double topP, int topK, double minP) {

    public static final SamplingParams GREEDY = new SamplingParams(0, 1, 0, 0);

    public SamplingParams {
        if (temperature < 0 || topP <= 0 || topP > 1 || topK < 0 || minP < 0 || minP > 1) {
            throw new IllegalArgumentException("invalid sampling parameters: temperature=" + temperature
                    + " top_p=" + topP + " top_k=" + topK + " min_p=" + minP);
        }
    }

    public boolean greedy() {
        return temperature == 0;
    }
}
