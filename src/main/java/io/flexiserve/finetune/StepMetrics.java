package io.flexiserve.finetune;

/**
 * What one optimizer step measured, averaged over its micro-batches.
 *
 * @param loss       lm loss + alpha x skip loss
 * @param skipLoss   {@code mean_t((sum over routed layers of w)^2)}
 * @param layersUsed average layers each token ran (the unrouted ones plus the routed ones where it ran)
 */
public record StepMetrics(int step, int totalSteps, double loss, double lmLoss, double skipLoss, double layersUsed,
                          double learningRate, long trainedTokens) {
}
