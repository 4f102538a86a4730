package io.flexiserve.model;

import ai.djl.ndarray.NDArray;

/**
 * One decoder layer. A plain Llama layer is the pre-norm block {@code x' = x + Attn(RMSNorm_in(x))},
 * {@code y = x' + MLP(RMSNorm_post(x'))}. A routed FlexiDepth layer (docs/model.md section 3), for a row
 * with residual x and {@code h = RMSNorm_in(x)}:
 * <ol>
 *   <li>{@code w = Router(h)}; the row runs the layer when {@code w > threshold} (0.5 in the release);</li>
 *   <li>every row, run or skip, writes {@code k = RoPE(W_k h), v = W_v h} to the KV cache;</li>
 *   <li>run: {@code x' = x + W_o Attn(RoPE(W_q h))}, {@code y = x' + w * MLP(RMSNorm_post(x'))};</li>
 *   <li>skip: {@code y = x + (1 - w) * Adapter(RMSNorm_post(x))}, with no query, attention or MLP.</li>
 * </ol>
 * The RUN rows and the SKIP rows are gathered into two dense batches, so a layer that every row skips
 * never reads its q, o or MLP weights.
 */
final class DecoderLayer {

    /** The release's hard-coded cut, used by training (serving takes a per-request threshold). */
    static final float RELEASE_THRESHOLD = 0.5f;

    final RmsNorm inputLayernorm;         // (D)
    final Attention selfAttn;
    final RmsNorm postAttentionLayernorm; // (D)
    final SwiGlu mlp;                     // gate/up (F, D), down (D, F)
    final Router router;                  // null in a plain layer
    final SwiGlu adapter;                 // gate/down (M, D), up (D, M) (the checkpoint's router_proj); null in a plain layer
    private final int routedIndex;        // position in routing_layers, -1 in a plain layer

    DecoderLayer(RmsNorm inputLayernorm, Attention selfAttn, RmsNorm postAttentionLayernorm, SwiGlu mlp,
                 Router router, SwiGlu adapter, int routedIndex) {
        this.inputLayernorm = inputLayernorm;
        this.selfAttn = selfAttn;
        this.postAttentionLayernorm = postAttentionLayernorm;
        this.mlp = mlp;
        this.router = router;
        this.adapter = adapter;
        this.routedIndex = routedIndex;
    }

    boolean isRouted() {
        return router != null;
    }

    /** Position in routing_layers, -1 in a plain layer. */
    int routedIndex() {
        return routedIndex;
    }

    DecoderLayer withRouter(Router newRouter) {
        return new DecoderLayer(inputLayernorm, selfAttn, postAttentionLayernorm, mlp, newRouter, adapter, routedIndex);
    }

    /** This layer's base weights with another router and adapter, routed as the {@code index}-th routed layer. */
    DecoderLayer withRouting(Router newRouter, SwiGlu adapter, int index) {
        return new DecoderLayer(inputLayernorm, selfAttn, postAttentionLayernorm, mlp, newRouter, adapter, index);
    }

    /** This layer's base weights as a plain Llama layer. */
    DecoderLayer unrouted() {
        return new DecoderLayer(inputLayernorm, selfAttn, postAttentionLayernorm, mlp, null, null, -1);
    }

    /** x: (N, D) residual rows of the step -> (N, D). */
    NDArray forward(NDArray x, StepContext step) {
        NDArray h = inputLayernorm.forward(x);
        selfAttn.writeKeysValues(h, step);
        if (router == null) {
            NDArray attended = x.add(selfAttn.forward(h, step.allRows, step));
            return attended.add(mlp.forward(postAttentionLayernorm.forward(attended)));
        }
        NDArray w = router.forward(h); // (N, 1)
        RowSplit split = RowSplit.decide(w, step, routedIndex);
        if (split.allRun()) {
            return run(x, h, w, step.allRows, step);
        }
        if (split.allSkip()) {
            return skip(x, w);
        }
        QueryRows runRows = step.select(split.runRows());
        NDArray skipIndex = step.manager.create(split.skipRowsAsLong());
        NDArray ran = run(x.get(runRows.index), h.get(runRows.index), w.get(runRows.index), runRows, step);
        NDArray skipped = skip(x.get(skipIndex), w.get(skipIndex));
        return ran.concat(skipped, 0).get(step.manager.create(split.inversePermutation()));
    }

    /**
     * The same equations over whole sequences for training, x: (B, T, D). Both paths are computed for every
     * row and the hard decision {@code w > 0.5} picks one; it passes no gradient, so the router learns
     * through the {@code w} and {@code 1 - w} factors (docs/model.md section 6).
     */
    Gated forwardSequences(NDArray x, Sequences seq) {
        NDArray h = inputLayernorm.forward(x);
        NDArray attended = x.add(selfAttn.forwardSequences(h, seq));
        if (router == null) {
            return new Gated(attended.add(mlp.forward(postAttentionLayernorm.forward(attended))), null, null);
        }
        NDArray w = router.forward(h);                                    // (B, T, 1)
        NDArray run = w.gt(RELEASE_THRESHOLD).toType(x.getDataType(), false); // Router.runs, on a tensor
        NDArray ran = attended.add(mlp.forward(postAttentionLayernorm.forward(attended)).mul(w));
        NDArray skipped = skip(x, w);
        return new Gated(run.mul(ran).add(run.neg().add(1f).mul(skipped)), w, run);
    }

    /** A training layer's output, its gate w (B, T, 1) and its 0/1 run decision (B, T, 1); both null in a plain layer. */
    record Gated(NDArray y, NDArray w, NDArray run) {
    }

    /** x' = x + W_o Attn(q); y = x' + w * MLP(RMSNorm_post(x')). */
    private NDArray run(NDArray x, NDArray h, NDArray w, QueryRows rows, StepContext step) {
        NDArray attended = x.add(selfAttn.forward(h, rows, step));
        return attended.add(mlp.forward(postAttentionLayernorm.forward(attended)).mul(w));
    }

    /** y = x + (1 - w) * Adapter(RMSNorm_post(x)). */
    private NDArray skip(NDArray x, NDArray w) {
        return x.add(adapter.forward(postAttentionLayernorm.forward(x)).mul(w.neg().add(1f)));
    }

    /**
     * This layer's Java twin for the Java path ({@link JavaForward}), layer index {@code index}: the packed weights of
     * its base projections, and its router and adapter as {@code pack} gives them (the caller owns what it packs).
     */
    JavaLayer javaForm(int index, ModelConfig config, JavaLayer.Packer pack) {
        return new JavaLayer(JavaNorm.of(inputLayernorm), selfAttn.javaForm(index, config),
                JavaNorm.of(postAttentionLayernorm), mlp.javaForm(Linear::packedWeight),
                router == null ? null : router.javaForm(pack), adapter == null ? null : adapter.javaForm(pack),
                routedIndex);
    }

    /** Whether {@link #javaForm} applies: every base projection packed, every router and adapter weight packable. */
    boolean hasJavaForm() {
        return selfAttn.packed() && mlp.packed() && (router == null || router.packable() && adapter.packable());
    }
}
