package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

/**
 * Grouped-query self-attention over the KV cache. Keys and values are written for every row of the step
 * ({@link #writeKeysValues}); queries, attention and {@code o_proj} run only for the rows given to
 * {@link #forward}, each attending to its own sequence's cached keys up to its position.
 */
final class Attention {

    /** Largest score block of one attention product: queries are taken in row blocks whose scores fit it. */
    static final long TILE_BYTES = 64L << 20;

    final Linear qProj; // (H*Dh, D)
    final Linear kProj; // (Hkv*Dh, D)
    final Linear vProj; // (Hkv*Dh, D)
    final Linear oProj; // (D, H*Dh)
    private final int layer;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final NDArray scale; // 1/sqrt(Dh) as a 0-d tensor that lives as long as the weights (see below)
    private final Rope rope;

    Attention(int layer, ModelConfig config, Rope rope, Linear qProj, Linear kProj, Linear vProj, Linear oProj) {
        this.layer = layer;
        this.heads = config.numHeads();
        this.kvHeads = config.numKvHeads();
        this.headDim = config.headDim();
        // Not q.mul(float): DJL wraps the number in a temporary tensor and frees it right after the op, while
        // autograd keeps using it for the backward pass of training (seen as NaN gradients under load).
        this.scale = qProj.manager().create((float) (1.0 / Math.sqrt(headDim)));
        this.rope = rope;
        this.qProj = qProj;
        this.kProj = kProj;
        this.vProj = vProj;
        this.oProj = oProj;
    }

    /** k = RoPE(W_k h), v = W_v h for all N rows of h: (N, D), stored in this layer's cache rows. */
    void writeKeysValues(NDArray h, StepContext step) {
        long n = h.getShape().get(0);
        NDArray k = rope.apply(kProj.forward(h).reshape(n, kvHeads, headDim), step.angles); // (N, Hkv, Dh)
        NDArray v = vProj.forward(h).reshape(n, kvHeads, headDim);                          // (N, Hkv, Dh)
        step.cache.write(layer, step.cacheRows, k, v);
    }

    /** W_o softmax(q K^T / sqrt(Dh)) V for the query rows; h: (n, D) of those rows -> (n, D). */
    NDArray forward(NDArray h, QueryRows rows, StepContext step) {
        long n = h.getShape().get(0);
        NDArray q = rope.apply(qProj.forward(h).reshape(n, heads, headDim), rows.angles).mul(scale); // (n, H, Dh)
        NDList outputs = new NDList(rows.groups.size());
        for (QueryRows.Group group : rows.groups) {
            NDArray groupQ = rows.groups.size() == 1 ? q : q.get(new NDIndex("{}:{}", group.start, group.start + group.count));
            outputs.add(attend(groupQ, group, step));
        }
        NDArray context = outputs.size() == 1 ? outputs.singletonOrThrow() : NDArrays.concat(outputs, 0);
        return oProj.forward(context);
    }

    /**
     * Causal self-attention over whole sequences without a cache (the training pass): h: (B, T, D) -> (B, T, D).
     * Every row computes a query; the caller keeps or drops each row's result by its routing decision.
     */
    NDArray forwardSequences(NDArray h, Sequences seq) {
        long b = seq.batch;
        long t = seq.length;
        int g = heads / kvHeads;
        long rows = b * t;
        NDArray q = rope.apply(qProj.forward(h).reshape(rows, heads, headDim), seq.angles).mul(scale)
                .reshape(b, t, kvHeads, g, headDim).transpose(0, 2, 3, 1, 4)
                .reshape(b, kvHeads, g * t, headDim);                                       // (B, Hkv, G*T, Dh)
        NDArray k = rope.apply(kProj.forward(h).reshape(rows, kvHeads, headDim), seq.angles)
                .reshape(b, t, kvHeads, headDim).transpose(0, 2, 3, 1);                      // (B, Hkv, Dh, T)
        NDArray v = vProj.forward(h).reshape(b, t, kvHeads, headDim).transpose(0, 2, 1, 3); // (B, Hkv, T, Dh)
        NDArray scores = q.matMul(k).reshape(b, kvHeads, g, t, t).add(seq.causal);         // (B, Hkv, G, T, T)
        NDArray context = scores.softmax(-1).reshape(b, kvHeads, g * t, t).matMul(v)        // (B, Hkv, G*T, Dh)
                .reshape(b, kvHeads, g, t, headDim).transpose(0, 3, 1, 2, 4)               // (B, T, Hkv, G, Dh)
                .reshape(b, t, (long) heads * headDim);
        return oProj.forward(context);
    }

    /**
     * q: (n, H, Dh) of one sequence -> (n, H*Dh). Query head h reads KV head h / G, as HF's repeat_kv. The queries
     * go in row blocks whose f32 scores fit {@link #TILE_BYTES}, each attending only to the keys up to its last
     * position (later keys are masked for all of its rows): a long prompt never holds every head's whole (n, T)
     * score matrix, and a causal prefill computes about half of it.
     */
    private NDArray attend(NDArray q, QueryRows.Group group, StepContext step) {
        int n = group.count;
        long rowsPerTile = Math.max(1, TILE_BYTES / ((long) heads * group.keys * Float.BYTES));
        if (n <= rowsPerTile) {
            return attendTile(q, group, 0, n, step);
        }
        NDList tiles = new NDList();
        for (int from = 0; from < n; from += (int) rowsPerTile) {
            int to = (int) Math.min(n, from + rowsPerTile);
            try (NDScope tile = new NDScope()) {
                NDArray out = attendTile(q.get(new NDIndex("{}:{}", from, to)), group, from, to, step);
                NDScope.unregister(out);
                tiles.add(out);
            }
        }
        NDArray context = NDArrays.concat(tiles, 0);
        tiles.close();
        return context;
    }

    /** Queries [from, to) of the group, q: (n', H, Dh) -> (n', H*Dh), over the keys up to the last one's position. */
    private NDArray attendTile(NDArray q, QueryRows.Group group, int from, int to, StepContext step) {
        int n = to - from;
        int g = heads / kvHeads;
        int keys = group.keysUpTo(to);                                          // T' = last position + 1
        NDArray k = group.keys(step.cache, layer, keys).transpose(1, 2, 0);     // (Hkv, Dh, T')
        NDArray v = group.values(step.cache, layer, keys).transpose(1, 0, 2);   // (Hkv, T', Dh)
        NDArray grouped = q.reshape(n, kvHeads, g, headDim).transpose(1, 2, 0, 3)
                .reshape(kvHeads, (long) g * n, headDim);                      // (Hkv, G*n', Dh)
        NDArray scores = grouped.matMul(k).toType(DataType.FLOAT32, false);     // (Hkv, G*n', T'), softmax in fp32 as HF
        if (group.needsMask(from, to)) {
            scores = scores.reshape(kvHeads, g, n, keys).add(group.mask(from, to, keys)); // (Hkv, G, n', T')
        }
        NDArray probs = scores.softmax(-1).toType(q.getDataType(), false).reshape(kvHeads, (long) g * n, keys);
        return probs.matMul(v)                                                   // (Hkv, G*n', Dh)
                .reshape(kvHeads, g, n, headDim).transpose(2, 0, 1, 3)          // (n', Hkv, G, Dh)
                .reshape(n, (long) heads * headDim);                            // (n', H*Dh)
    }

    /** The Java form of this attention for the Java path (layer index {@code layer}), on the packed projections. */
    JavaAttention javaForm(int layer, ModelConfig config) {
        return new JavaAttention(layer, config, qProj.packedWeight(), kProj.packedWeight(), vProj.packedWeight(),
                oProj.packedWeight());
    }

    /** Whether every projection is stored for the Java kernels. */
    boolean packed() {
        return qProj.packed() && kProj.packed() && vProj.packed() && oProj.packed();
    }
}
