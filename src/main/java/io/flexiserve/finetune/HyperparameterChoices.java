package io.flexiserve.finetune;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * The hyperparameters a client sent, every field optional: OpenAI's three ({@code n_epochs}, {@code batch_size},
 * {@code learning_rate_multiplier}, each a number or {@code "auto"}) and FlexiDepth's. {@link #resolve} fills the
 * recipe's defaults (docs/model.md section 6) and checks the result.
 */
public record HyperparameterChoices(
        @JsonProperty("n_epochs") JsonNode nEpochs,
        @JsonProperty("batch_size") JsonNode batchSize,
        @JsonProperty("learning_rate_multiplier") JsonNode learningRateMultiplier,
        @JsonProperty("preset") String preset,
        @JsonProperty("alpha") Double alpha,
        @JsonProperty("learning_rate") Double learningRate,
        @JsonProperty("gradient_accumulation_steps") Integer gradientAccumulationSteps,
        @JsonProperty("max_length") Integer maxLength,
        @JsonProperty("warmup_ratio") Double warmupRatio,
        @JsonProperty("weight_decay") Double weightDecay,
        @JsonProperty("max_grad_norm") Double maxGradNorm,
        @JsonProperty("checkpoint_interval") Integer checkpointInterval,
        @JsonProperty("routing_layers") List<Integer> routingLayers) {

    public static final HyperparameterChoices NONE = new HyperparameterChoices(null, null, null, null, null, null, null,
            null, null, null, null, null, null);

    /** The resolved hyperparameters; {@code seed} is the job's top-level seed. */
    public Hyperparameters resolve(long seed) {
        String p = preset == null ? (alpha == null ? "alignment" : "custom") : preset;
        Double presetAlpha = Hyperparameters.presetAlpha(p);
        if (presetAlpha == null && alpha == null && p.equals("custom")) {
            throw new JobSpecException("hyperparameters.alpha", "preset custom needs an explicit alpha");
        }
        if (presetAlpha != null && alpha != null && !alpha.equals(presetAlpha)) {
            throw new JobSpecException("hyperparameters.alpha", "preset " + p + " fixes alpha at " + presetAlpha
                    + "; use preset custom for another alpha");
        }
        if (learningRate != null && learningRateMultiplier != null && !isAuto(learningRateMultiplier)) {
            throw new JobSpecException("hyperparameters.learning_rate",
                    "give learning_rate or learning_rate_multiplier, not both");
        }
        double lr = learningRate != null ? learningRate
                : Hyperparameters.BASE_LEARNING_RATE * number(learningRateMultiplier, "learning_rate_multiplier", 1.0);
        return new Hyperparameters(p, alpha != null ? alpha : presetAlpha != null ? presetAlpha : 0, lr,
                (int) integer(nEpochs, "n_epochs", 1), (int) integer(batchSize, "batch_size", 4),
                or(gradientAccumulationSteps, 8), or(maxLength, 2048), or(warmupRatio, 0.03), or(weightDecay, 0.0),
                or(maxGradNorm, 1.0), or(checkpointInterval, 50), seed, routingLayers == null ? List.of() : routingLayers);
    }

    private static boolean isAuto(JsonNode node) {
        return node == null || node.isNull() || (node.isTextual() && node.asText().equals("auto"));
    }

    private static double number(JsonNode node, String name, double auto) {
        if (isAuto(node)) {
            return auto;
        }
        if (!node.isNumber()) {
            throw new JobSpecException("hyperparameters." + name, name + " must be a number or \"auto\"");
        }
        return node.asDouble();
    }

    private static long integer(JsonNode node, String name, long auto) {
        if (isAuto(node)) {
            return auto;
        }
        if (!node.isIntegralNumber()) {
            throw new JobSpecException("hyperparameters." + name, name + " must be an integer or \"auto\"");
        }
        return Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, node.asLong())); // out of range stays out of range
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }
}
