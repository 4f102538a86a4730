package io.flexiserve.model;

/**
 * Weight bytes one decoded token reads at batch 1, from the shapes alone (at a weight format's bytes per weight,
 * scales included, and the routers' and adapters' own rate, f32 on the Java kernels): every layer's norms and K/V
 * projections; a layer that runs also reads q, o and the MLP; a routed layer always reads its router and,
 * when skipped, its adapter; and every token reads its embedding row, the final norm and the LM head.
 * Decode at batch 1 is bandwidth bound, so this over the memory bandwidth is the roofline.
 */
public final class DecodeBytes {

    private final ModelConfig config;
    private final double bytesPerWeight;
    private final double routerBytesPerWeight;

    /** Every weight at {@code bytesPerWeight}. */
    public DecodeBytes(ModelConfig config, double bytesPerWeight) {
        this(config, bytesPerWeight, bytesPerWeight);
    }

    /** The routers and adapters at {@code routerBytesPerWeight}, every other weight at {@code bytesPerWeight}. */
    public DecodeBytes(ModelConfig config, double bytesPerWeight, double routerBytesPerWeight) {
        this.config = config;
        this.bytesPerWeight = bytesPerWeight;
        this.routerBytesPerWeight = routerBytesPerWeight;
    }

    /** Bytes per token when a fraction {@code runFraction} of routed-layer visits run the layer. */
    public double perToken(double runFraction) {
        long d = config.hiddenSize();
        long kv = (long) config.numKvHeads() * config.headDim();
        long q = (long) config.numHeads() * config.headDim();
        long always = 2 * d + 2 * d * kv;                     // norms, k_proj, v_proj
        long runOnly = 2 * d * q + 3 * d * config.intermediateSize(); // q_proj, o_proj, gate/up/down
        long router = d * config.routerDim() + config.routerDim() + d * config.routerDim() + d;
        long adapter = 3 * d * config.adapterDim();
        int routed = config.routingLayers().size();
        int plain = config.numLayers() - routed;
        double layers = plain * (double) (always + runOnly) + routed * (always + runFraction * runOnly);
        double routing = routed * (router + (1 - runFraction) * adapter);
        double edges = d + d + (double) config.vocabSize() * d;      // embedding row, final norm, LM head
        return (layers + edges) * bytesPerWeight + routing * routerBytesPerWeight;
    }

    /** Every routed layer run over every routed layer skipped: the best batch-1 speed-up skipping can give. */
    public double skipAllRatio() {
        return perToken(1) / perToken(0);
    }
}
