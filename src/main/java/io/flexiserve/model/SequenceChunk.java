package io.flexiserve.model;

/**
 * The rows one sequence contributes to a step: a prompt chunk or a single decode token.
 *
 * @param kv         where the sequence's tokens sit in the KV cache
 * @param pastLength tokens of this sequence already in the cache; these rows sit at positions
 *                   pastLength, pastLength + 1, ...
 * @param tokens     the token ids of the rows
 * @param threshold  the routing cut: a routed layer runs for a row when its gate w > threshold
 *                   (0.5 in the release; 0 runs every routed layer, 1 skips every one)
 * @param wantLogits whether the step should return next-token logits after the last row
 */
public record SequenceChunk(KvRows kv, int pastLength, int[] tokens, float threshold, boolean wantLogits) {

    public SequenceChunk {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("a chunk needs at least one token");
        }
        if (pastLength < 0 || kv.row(0) < 0) {
            throw new IllegalArgumentException("negative cache row or pastLength");
        }
    }

    /** A sequence in rows [kvOffset, ...): its token at position p in row kvOffset + p. */
    public SequenceChunk(int kvOffset, int pastLength, int[] tokens, float threshold, boolean wantLogits) {
        this(new KvRows.Contiguous(kvOffset), pastLength, tokens, threshold, wantLogits);
    }

    /** Position after the chunk: the sequence's cached length once the step ran. */
    public int endPosition() {
        return pastLength + tokens.length;
    }
}
