package io.flexiserve.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW as torch.optim.AdamW computes it (decoupled weight decay, bias-corrected moments), updating the
 * parameters in place. Call {@link #step} outside a gradient collector, after the gradients are final.
 */
final class AdamW {

    static final float BETA1 = 0.9f;
    static final float BETA2 = 0.95f; // docs/model.md section 6
    private static final float EPS = 1e-8f;

    private final Map<String, NDArray> params;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private final double weightDecay;
    private int steps;

    AdamW(Map<String, NDArray> params, double weightDecay, NDManager manager) {
        this.params = params;
        this.weightDecay = weightDecay;
        params.forEach((name, p) -> {
            expAvg.put(name, manager.zeros(p.getShape()));
            expAvgSq.put(name, manager.zeros(p.getShape()));
        });
    }

    /** One update with learning rate {@code lr} from each parameter's gradient, which is then zeroed. */
    void step(double lr) {
        steps++;
        double correction1 = 1 - Math.pow(BETA1, steps);
        double correction2 = 1 - Math.pow(BETA2, steps);
        float stepSize = (float) (lr / correction1);
        float sqrtCorrection2 = (float) Math.sqrt(correction2);
        params.forEach((name, p) -> {
            NDArray grad = p.getGradient();
            NDArray m = expAvg.get(name).muli(BETA1).addi(grad.mul(1 - BETA1));
            NDArray v = expAvgSq.get(name).muli(BETA2).addi(grad.square().muli(1 - BETA2));
            if (weightDecay > 0) {
                p.muli((float) (1 - lr * weightDecay));
            }
            p.subi(m.div(v.sqrt().divi(sqrtCorrection2).addi(EPS)).muli(stepSize));
            grad.subi(grad); // gradients accumulate across backward calls until zeroed
        });
    }

    int steps() {
        return steps;
    }

    /** The moments under {@code exp_avg.<name>} and {@code exp_avg_sq.<name>}, for a checkpoint. */
    Map<String, NDArray> state() {
        Map<String, NDArray> state = new LinkedHashMap<>();
        expAvg.forEach((name, a) -> state.put("exp_avg." + name, a));
        expAvgSq.forEach((name, a) -> state.put("exp_avg_sq." + name, a));
        return state;
    }

    /** Restores moments and step count saved by {@link #state}. */
    void restore(Map<String, float[]> state, int steps) {
        state.forEach((key, values) -> {
            NDArray target = key.startsWith("exp_avg_sq.") ? expAvgSq.get(key.substring("exp_avg_sq.".length()))
                    : expAvg.get(key.substring("exp_avg.".length()));
            if (target == null) {
                throw new IllegalStateException("optimizer state names an unknown parameter: " + key);
            }
            target.set(values);
        });
        this.steps = steps;
    }
}
