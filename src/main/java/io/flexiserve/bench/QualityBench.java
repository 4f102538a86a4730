package io.flexiserve.bench;

import ai.djl.Device;
import io.flexiserve.engine.Sampler;
import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.model.ForwardResult;
import io.flexiserve.model.KvCache;
import io.flexiserve.model.ModelLoader;
import io.flexiserve.model.ModelOptions;
import io.flexiserve.model.SequenceChunk;
import io.flexiserve.model.StepBatch;
import io.flexiserve.model.cpu.ShortLivedThread;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * What quantizing the weights changes, against a reference dtype on the same checkpoint: one prompt prefilled at a
 * routing threshold, then greedy decoding with the reference's tokens fed to both (teacher forcing), so that every
 * step compares the two models on the same context. Reported per dtype: the relative L2 error of the logits (mean
 * and worst step), the share of steps whose argmax equals the reference's token and the first step where it does
 * not (where free-running greedy output would diverge), and the share of routing decisions over the prompt's
 * tokens and routed layers that equal the reference's.
 */
final class QualityBench {

    private final Path dir;
    private final int promptTokens;
    private final int steps;
    private final float threshold;

    QualityBench(Path dir, int promptTokens, int steps, float threshold) {
        this.dir = dir;
        this.promptTokens = promptTokens;
        this.steps = steps;
        this.threshold = threshold;
    }

    /** One dtype's run: the logits before each decoded token, the tokens, the prompt's routing decisions. */
    private record Run(float[][] logits, int[] tokens, boolean[][] routing) {
    }

    Map<String, Object> compare(String reference, String... dtypes) throws Exception {
        Run ref = run(reference, null);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("reference", reference);
        out.put("prompt_tokens", promptTokens);
        out.put("steps", steps);
        out.put("threshold", threshold);
        for (String dtype : dtypes) {
            Run other = run(dtype, ref.tokens());
            out.put(dtype, measure(ref, other));
            System.err.println("quality " + dtype + " against " + reference + ": " + out.get(dtype));
        }
        return out;
    }

    private static Map<String, Object> measure(Run ref, Run other) {
        double sum = 0;
        double worst = 0;
        int agree = 0;
        int firstDisagreement = -1;
        for (int s = 0; s < ref.logits().length; s++) {
            double error = relativeError(other.logits()[s], ref.logits()[s]);
            sum += error;
            worst = Math.max(worst, error);
            if (Sampler.argmax(other.logits()[s]) == ref.tokens()[s]) {
                agree++;
            } else if (firstDisagreement < 0) {
                firstDisagreement = s;
            }
        }
        long decisions = 0;
        long same = 0;
        for (int layer = 0; layer < ref.routing().length; layer++) {
            for (int row = 0; row < ref.routing()[layer].length; row++) {
                decisions++;
                same += ref.routing()[layer][row] == other.routing()[layer][row] ? 1 : 0;
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("logit_relative_error_mean", round(sum / ref.logits().length));
        m.put("logit_relative_error_worst", round(worst));
        m.put("greedy_agreement", round((double) agree / ref.logits().length));
        m.put("first_disagreement_step", firstDisagreement);
        m.put("routing_agreement", round(decisions == 0 ? 1 : (double) same / decisions));
        return m;
    }

    /**
     * Prefills the prompt, then decodes {@code steps} tokens: the model's own greedy choices, or {@code forced}.
     * Returns the logits before each decoded token, the tokens, and the prompt's routing decisions.
     */
    private Run run(String dtype, int[] forced) throws Exception {
        ModelOptions options = ModelOptions.of(Device.cpu(), dtype, promptTokens + steps + 1, false);
        return ShortLivedThread.call("quality-" + dtype, () -> {
            try (FlexiDepthModel model = ModelLoader.load(dir, options);
                 KvCache cache = model.newKvCache(promptTokens + steps + 1)) {
                int[] prompt = new Random(7).ints(promptTokens, 0, model.config().vocabSize()).toArray();
                ForwardResult prefill = model.forward(StepBatch.of(new SequenceChunk(0, 0, prompt, threshold, true)), cache);
                int routed = prefill.trace().routedLayers().size();
                boolean[][] routing = new boolean[routed][promptTokens];
                for (int layer = 0; layer < routed; layer++) {
                    for (int row = 0; row < promptTokens; row++) {
                        routing[layer][row] = prefill.trace().ran(layer, row);
                    }
                }
                float[][] logits = new float[steps][];
                int[] tokens = new int[steps];
                logits[0] = prefill.logits()[0]; // per chunk: the one after the prompt's last token
                for (int s = 0; s < steps; s++) {
                    tokens[s] = forced != null ? forced[s] : Sampler.argmax(logits[s]);
                    if (s + 1 < steps) {
                        ForwardResult step = model.forward(StepBatch.of(new SequenceChunk(0, promptTokens + s,
                                new int[] {tokens[s]}, threshold, true)), cache);
                        logits[s + 1] = step.logits()[0];
                    }
                }
                return new Run(logits, tokens, routing);
            }
        });
    }

    private static double relativeError(float[] got, float[] want) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < want.length; i++) {
            diff += (got[i] - want[i]) * (double) (got[i] - want[i]);
            norm += want[i] * (double) want[i];
        }
        return Math.sqrt(diff / norm);
    }

    private static double round(double v) {
        return Math.round(v * 1e5) / 1e5;
    }
}
