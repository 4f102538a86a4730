package io.flexiserve.engine;

/** A token id with its log probability under the model (log-softmax of the raw logits). */
public record TokenLogprob(int id, float logprob) {
}
