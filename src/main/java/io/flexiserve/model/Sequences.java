package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * B whole sequences, right-padded to the longest (T), as the training pass sees them: the token tensor, which
 * positions are real, the RoPE angles of every row and the causal mask. Padding only ever follows real tokens,
 * so the causal mask alone keeps real rows from attending to padding.
 */
final class Sequences {

    private static final float MASKED = -1e30f;

    final int batch;        // B
    final int length;       // T
    final NDArray tokens;   // (B, T) int64, padding 0
    final NDArray valid;    // (B, T) f32, 1 for real tokens
    final Rope.Angles angles; // (B*T, 1, Dh) each
    final NDArray causal;   // (T, T) additive: 0 on and below the diagonal, MASKED above
    final int realTokens;

    Sequences(List<int[]> sequences, NDManager manager, Rope rope) {
        this.batch = sequences.size();
        this.length = sequences.stream().mapToInt(s -> s.length).max().orElseThrow();
        long[] ids = new long[batch * length];
        float[] mask = new float[batch * length];
        long[] positions = new long[batch * length];
        int real = 0;
        for (int b = 0; b < batch; b++) {
            int[] s = sequences.get(b);
            for (int t = 0; t < length; t++) {
                positions[b * length + t] = t;
                if (t < s.length) {
                    ids[b * length + t] = s[t];
                    mask[b * length + t] = 1f;
                    real++;
                }
            }
        }
        float[] causalMask = new float[length * length];
        for (int q = 0; q < length; q++) {
            for (int k = q + 1; k < length; k++) {
                causalMask[q * length + k] = MASKED;
            }
        }
        this.tokens = manager.create(ids, new Shape(batch, length));
        this.valid = manager.create(mask, new Shape(batch, length));
        this.angles = rope.at(manager.create(positions));
        this.causal = manager.create(causalMask, new Shape(length, length));
        this.realTokens = real;
    }

    /** Real tokens that have a successor: the rows whose next-token prediction is scored. */
    NDArray predicted() {
        return valid.get(":, 1:").toType(DataType.FLOAT32, false); // (B, T-1)
    }
}
