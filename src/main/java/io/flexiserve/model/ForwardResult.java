package io.flexiserve.model;

/**
 * The outcome of one step.
 *
 * @param logits per chunk of the batch, the next-token logits (V) after its last row, or null where the
 *               chunk did not ask for them
 * @param trace  the routing decisions of every row
 */
public record ForwardResult(float[][] logits, RoutingTrace trace) {
}
