package io.flexiserve.engine;

/**
 * A rule on which tokens a sequence may generate next (a structured output's grammar), applied to the logits
 * before penalties and sampling, so that greedy decoding, every sampling mode and the logprobs all see only the
 * tokens it allows. One per sequence, called on the engine thread only.
 */
public interface TokenConstraint {

    /**
     * Sets the logit of every token not allowed next to negative infinity.
     *
     * @return false when nothing may follow (the output is complete): the sequence ends as stopped
     */
    boolean mask(float[] logits);

    /** Follows the token sampled from the masked logits. */
    void accept(int token);
}
