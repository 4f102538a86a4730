package io.flexiserve.model;

import java.util.List;

/**
 * {@link DecoderLayer} for a single token row, in Java on packed weights ({@link RowForward}): the same equations
 * (FLEXIDEPTH.md section 5) on a residual x (D), updated in place. A routed layer's router decides first; every row
 * writes its keys and values; a row that runs takes attention and the MLP scaled by its gate, a row that skips
 * takes the adapter scaled by {@code 1 - w} and reads none of the layer's q, o or MLP weights.
 */
final class RowLayer {

    private final RowNorm inputLayernorm;
    private final RowAttention selfAttn;
    private final RowNorm postAttentionLayernorm;
    private final SwiGluRow mlp;
    private final RouterRow router; // null in a plain layer
    private final SwiGluRow adapter; // null in a plain layer
    private final int routedIndex;

    private RowLayer(RowNorm inputLayernorm, RowAttention selfAttn, RowNorm postAttentionLayernorm, SwiGluRow mlp,
                     RouterRow router, SwiGluRow adapter, int routedIndex) {
        this.inputLayernorm = inputLayernorm;
        this.selfAttn = selfAttn;
        this.postAttentionLayernorm = postAttentionLayernorm;
        this.mlp = mlp;
        this.router = router;
        this.adapter = adapter;
        this.routedIndex = routedIndex;
    }

    /**
     * The row form of {@code layer} (layer index {@code index}): its base projections' packed weights, and its
     * router and adapter packed by {@code pack} (which the caller owns and closes).
     */
    static RowLayer of(int index, ModelConfig config, Rope rope, DecoderLayer layer, Packer pack) {
        RowAttention attention = new RowAttention(index, config, rope, layer.selfAttn);
        SwiGluRow mlp = new SwiGluRow(layer.mlp.gate.packedWeight(), layer.mlp.value.packedWeight(),
                layer.mlp.out.packedWeight());
        RouterRow router = null;
        SwiGluRow adapter = null;
        if (layer.isRouted()) {
            Router r = layer.router;
            router = new RouterRow(pack.apply(r.routerEnc), RowNorm.of(r.routerNorm),
                    r.routerDec == null ? null : pack.apply(r.routerDec), pack.apply(r.routerHead));
            adapter = new SwiGluRow(pack.apply(layer.routerProj.gate), pack.apply(layer.routerProj.value),
                    pack.apply(layer.routerProj.out));
        }
        return new RowLayer(RowNorm.of(layer.inputLayernorm), attention, RowNorm.of(layer.postAttentionLayernorm), mlp,
                router, adapter, layer.routedIndex());
    }

    /** Whether every weight {@code layer}'s row form needs has a packed form, or can be packed. */
    static boolean supports(DecoderLayer layer) {
        Attention a = layer.selfAttn;
        for (Linear base : List.of(a.qProj, a.kProj, a.vProj, a.oProj, layer.mlp.gate, layer.mlp.value, layer.mlp.out)) {
            if (!base.packed()) {
                return false;
            }
        }
        if (!layer.isRouted()) {
            return true;
        }
        Router r = layer.router;
        SwiGlu m = layer.routerProj;
        return List.of(r.routerEnc, r.routerHead, m.gate, m.value, m.out).stream().allMatch(RowLayer::packable)
                && (r.routerDec == null || packable(r.routerDec));
    }

    private static boolean packable(Linear linear) {
        return VectorGemm.accepts(linear.weight());
    }

    /** x: (D), the row's residual, through this layer in place. */
    void forward(float[] x, RowStep step) {
        float[] h = inputLayernorm.apply(x);
        float w = 1;
        boolean run = true;
        if (router != null) {
            w = router.gate(h);
            run = w > step.threshold;
            step.trace.record(routedIndex, new float[] {w}, new boolean[] {run});
        }
        selfAttn.writeKeysValues(h, step);
        if (run) { // x' = x + W_o Attn(q); y = x' + w * MLP(RMSNorm_post(x')), w = 1 in a plain layer
            addScaled(x, selfAttn.forward(h, step), 1);
            addScaled(x, mlp.apply(postAttentionLayernorm.apply(x)), w);
        } else { // y = x + (1 - w) * Adapter(RMSNorm_post(x))
            addScaled(x, adapter.apply(postAttentionLayernorm.apply(x)), -w + 1);
        }
    }

    /** x += a * s (for s = 1 exactly x + a: the multiply by one is exact). */
    private static void addScaled(float[] x, float[] a, float s) {
        for (int i = 0; i < x.length; i++) {
            x[i] += a[i] * s;
        }
    }

    static float sigmoid(float z) {
        return (float) (1 / (1 + Math.exp(-z)));
    }

    /** Packs a router or adapter weight for the row path. */
    @FunctionalInterface
    interface Packer {
        VectorGemm apply(Linear linear);
    }

    /** {@link SwiGlu} for one row: {@code out(silu(gate u) * value u)}. */
    private record SwiGluRow(VectorGemm gate, VectorGemm value, VectorGemm out) {

        float[] apply(float[] u) {
            float[] g = gate.multiplyRow(u);
            float[] v = value.multiplyRow(u);
            for (int i = 0; i < g.length; i++) {
                g[i] = g[i] * sigmoid(g[i]) * v[i];
            }
            return out.multiplyRow(g);
        }
    }

    /** {@link Router} for one row: {@code w = sigmoid(W_head W_dec tanh(RMSNorm_r(W_enc h)))}. */
    private record RouterRow(VectorGemm enc, RowNorm norm, VectorGemm dec, VectorGemm head) {

        float gate(float[] h) {
            float[] z = norm.apply(enc.multiplyRow(h));
            for (int i = 0; i < z.length; i++) {
                z[i] = (float) Math.tanh(z[i]);
            }
            float logit = head.multiplyRow(dec == null ? z : dec.multiplyRow(z))[0];
            return sigmoid(logit);
        }
    }
}
