package io.flexiserve.finetune;

import java.util.List;

/**
 * Everything that decides a training run, resolved and checked (docs/model.md section 6 supplies the
 * defaults). {@code batchSize} sequences make a micro-batch; {@code accumulation} micro-batches make one
 * optimizer step, so the global batch is their product (the recipe: 4 x 8 = 32).
 *
 * @param preset             {@code alignment} (alpha 1e-4), {@code annealing} (1e-5) or {@code custom}
 * @param alpha              weight of the skip penalty {@code mean_t((sum_l w)^2)}
 * @param learningRate       peak AdamW learning rate
 * @param epochs             passes over the training file
 * @param warmupRatio        share of the steps with a linear warm-up before the cosine decay
 * @param maxGradNorm        global gradient-norm clip
 * @param checkpointInterval optimizer steps between checkpoints
 * @param routingLayers      layers to route when the base is a plain Llama; empty keeps the checkpoint's
 */
public record Hyperparameters(String preset, double alpha, double learningRate, int epochs, int batchSize,
                              int accumulation, int maxLength, double warmupRatio, double weightDecay,
                              double maxGradNorm, int checkpointInterval, long seed, List<Integer> routingLayers) {

    public static final double BASE_LEARNING_RATE = 1e-4;

    public Hyperparameters {
        routingLayers = List.copyOf(routingLayers);
        check(List.of("alignment", "annealing", "custom").contains(preset), "preset",
                "preset must be alignment, annealing or custom, not '" + preset + "'");
        check(Double.isFinite(alpha) && alpha >= 0, "alpha", "alpha must be a number >= 0, got " + alpha);
        check(Double.isFinite(learningRate) && learningRate > 0 && learningRate < 1, "learning_rate",
                "learning_rate must be in (0, 1), got " + learningRate);
        check(epochs >= 1 && epochs <= 100, "n_epochs", "n_epochs must be in [1, 100], got " + epochs);
        check(batchSize >= 1 && batchSize <= 256, "batch_size", "batch_size must be in [1, 256], got " + batchSize);
        check(accumulation >= 1 && accumulation <= 1024, "gradient_accumulation_steps",
                "gradient_accumulation_steps must be in [1, 1024], got " + accumulation);
        check(maxLength >= 2, "max_length", "max_length must be at least 2 tokens, got " + maxLength);
        check(warmupRatio >= 0 && warmupRatio < 1, "warmup_ratio", "warmup_ratio must be in [0, 1), got " + warmupRatio);
        check(weightDecay >= 0 && weightDecay < 1, "weight_decay", "weight_decay must be in [0, 1), got " + weightDecay);
        check(maxGradNorm > 0, "max_grad_norm", "max_grad_norm must be > 0, got " + maxGradNorm);
        check(checkpointInterval >= 1, "checkpoint_interval", "checkpoint_interval must be >= 1, got " + checkpointInterval);
        check(routingLayers.stream().allMatch(l -> l >= 0) && routingLayers.stream().distinct().count() == routingLayers.size(),
                "routing_layers", "routing_layers must be distinct layer indices >= 0");
    }

    /** The alpha of a named preset (the two stages of the recipe); null for {@code custom}. */
    public static Double presetAlpha(String preset) {
        return switch (preset) {
            case "alignment" -> 1e-4;
            case "annealing" -> 1e-5;
            default -> null;
        };
    }

    /** Checks {@code routingLayers} against a model of {@code numLayers} layers. */
    public void checkRoutingLayers(int numLayers) {
        for (int layer : routingLayers) {
            check(layer < numLayers, "routing_layers",
                    "routing layer " + layer + " does not exist in a model of " + numLayers + " layers");
        }
    }

    /** Sequences per optimizer step. */
    public int globalBatch() {
        return batchSize * accumulation;
    }

    private static void check(boolean ok, String param, String message) {
        if (!ok) {
            throw new JobSpecException("hyperparameters." + param, message);
        }
    }
}
