package io.flexiserve.structured;

import java.util.Arrays;

/**
 * One output's progress through a {@link Grammar}: before each token it masks the logits to the tokens that keep
 * the output valid (the end tokens only once it is complete, and then nothing else), and it follows each token
 * sampled. One per sequence; not thread-safe.
 */
public final class Matcher {

    private final Grammar grammar;
    private final int[] endIds;
    private State state;
    private boolean ended;

    Matcher(Grammar grammar, State state, int[] endIds) {
        this.grammar = grammar;
        this.state = state;
        this.endIds = endIds.clone();
    }

    /**
     * Sets the logit of every token not allowed next to negative infinity.
     *
     * @return false when no token may follow: the output is complete and no end token exists
     * @throws IllegalStateException when the vocabulary cannot continue an incomplete output
     */
    public boolean mask(float[] logits) {
        if (ended) {
            return false;
        }
        if (state.unconstrained()) {
            return true;
        }
        boolean complete = state.accepting();
        float[] ends = new float[endIds.length];
        for (int i = 0; i < endIds.length; i++) {
            ends[i] = endIds[i] < logits.length ? logits[endIds[i]] : Float.NEGATIVE_INFINITY;
        }
        long[] allowed = grammar.mask(state);
        boolean any = false;
        for (int w = 0; w < allowed.length; w++) {
            long bits = allowed[w];
            any |= bits != 0;
            if (bits == -1L) {
                continue;
            }
            int base = w << 6;
            for (long refused = ~bits; refused != 0; refused &= refused - 1) {
                int id = base + Long.numberOfTrailingZeros(refused);
                if (id >= logits.length) {
                    break;
                }
                logits[id] = Float.NEGATIVE_INFINITY;
            }
        }
        if (allowed.length << 6 < logits.length) {
            Arrays.fill(logits, allowed.length << 6, logits.length, Float.NEGATIVE_INFINITY);
        }
        if (complete) {
            for (int i = 0; i < endIds.length; i++) {
                if (endIds[i] < logits.length) {
                    logits[endIds[i]] = ends[i];
                }
            }
            return any || endIds.length > 0;
        }
        if (!any) {
            throw new IllegalStateException("no token of the vocabulary continues the structured output");
        }
        return true;
    }

    /** Follows a sampled token, which the last mask allowed. */
    public void accept(int token) {
        for (int end : endIds) {
            if (end == token) {
                if (!state.accepting()) {
                    throw new IllegalStateException("the output ended before its value was complete");
                }
                ended = true;
                return;
            }
        }
        if (state.unconstrained()) {
            return; // free text: any token, as without a grammar
        }
        byte[] bytes = grammar.vocabulary().bytesOf(token);
        if (bytes == null) {
            throw new IllegalStateException("token " + token + " is not part of a structured output");
        }
        State s = state;
        for (byte b : bytes) {
            s = s.advance(b & 0xff);
            if (s == null) {
                throw new IllegalStateException("token " + token + " does not continue the structured output");
            }
        }
        state = s;
    }

    /** Whether the output so far is a complete value (it may end here). */
    public boolean complete() {
        return ended || state.accepting();
    }
}
