package io.flexiserve.model;

import ai.djl.ndarray.types.DataType;

/**
 * What a model takes in host memory, computed from its config before any weight is read: the loaded weights
 * with the copies its dtype keeps, the KV cache per token, and the largest step's activations. The service's
 * preflight and KV sizing use it; shapes follow the legend of {@code package-info.java}.
 */
public final class MemoryEstimate {

    private MemoryEstimate() {
    }

    /** Bytes of the loaded weights with {@code options}: every tensor in its dtype, plus the batch copies it keeps. */
    public static long weightBytes(ModelConfig c, ModelOptions options) {
        long d = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long projections = c.numLayers() * (2 * d * q + 2 * d * kv + 3 * d * c.intermediateSize());
        long routers = c.routingLayers().size() * (2 * d * c.routerDim() + d + 3 * d * c.adapterDim());
        boolean separateHead = !c.tieWordEmbeddings() || options.weightDtype() != options.dtype();
        long head = separateHead ? (long) c.vocabSize() * d : 0;
        long act = options.dtype().getNumOfBytes();
        long weight = options.weightDtype().getNumOfBytes();
        boolean java = options.javaKernels();
        // the Java kernels' models read the embedding's rows from the checkpoint's file pages, which the kernel may
        // drop (nothing held), and keep their projections in their format
        long embedding = java ? 0 : (long) c.vocabSize() * d * act;
        double perWeight = java ? options.packing().bytesPerWeight() : weight + batchCopyBytes(options);
        long norms = (2L * c.numLayers() + 1) * d * act + (long) c.routingLayers().size() * c.routerDim() * act;
        // on the Java kernels the routers and adapters are f32, packed as their only copy unless their tensors are
        // kept to premultiply the router head: then the Java path packs a copy of its own
        long routerWeight = java ? Float.BYTES : weight;
        long routerCopy = java ? (options.premultiplyRouterHead() ? Float.BYTES : 0) : batchCopyBytes(options);
        return embedding + norms + (long) ((projections + head) * perWeight) + routers * (routerWeight + routerCopy)
                + ropeBytes(c, options);
    }

    /** Per weight, the bytes of an f32 copy for batched steps: {@code mixed} without the Vector API keeps one. */
    private static long batchCopyBytes(ModelOptions options) {
        if (options.batchRows() == 0 || options.weightDtype() != DataType.FLOAT16 || options.device().isGpu()
                || options.javaKernels()) {
            return 0;
        }
        return Float.BYTES;
    }

    /** RoPE's cos and sin tables, (P, Dh) each in f32. */
    private static long ropeBytes(ModelConfig c, ModelOptions options) {
        long positions = options.maxPositions() > 0 ? options.maxPositions() : c.maxPositionEmbeddings();
        return 2L * positions * c.headDim() * Float.BYTES;
    }

    /**
     * An upper bound on what one step of {@code rows} token rows allocates while it runs, in f32: a layer's
     * intermediates (its norms, q/k/v and RoPE's temporaries, attention output, the MLP's gate, its sigmoid, their
     * product, up and the gated product, the residuals), freed as the layer ends, with a Java copy of each product's
     * input and output for the packed kernels, one attention tile with its copy of the cached keys and values of up
     * to {@code positions} positions, and the logits of up to {@code logitRows} rows.
     */
    public static long stepBytes(ModelConfig c, int rows, int logitRows, long positions) {
        long d = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long perRow = 6 * d + 6 * q + 2 * kv + 5L * c.intermediateSize();
        long javaCopies = 2L * c.intermediateSize() + 2 * d; // the widest product's input and output as float[]
        long layer = (long) rows * (perRow + javaCopies) * Float.BYTES;
        long logits = (long) logitRows * c.vocabSize() * Float.BYTES * 3;
        long tileKeysValues = 2L * positions * kv * Float.BYTES;
        return layer + Attention.TILE_BYTES * 3 + tileKeysValues + logits;
    }
}
