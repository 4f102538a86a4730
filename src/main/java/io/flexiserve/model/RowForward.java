package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;

/**
 * A step of a single token row (the decode step of a lone sequence) through the whole network in Java, on the
 * packed f16 weights of {@code mixed}: no libtorch op per layer.
 *
 * <p>Why: such a step is bound by reading every weight once, and two things kept libtorch's path from that bound on
 * this CPU (BENCHMARKS.md, "Full depth vs roofline"): its f16 matvec streams at 14-24 GB/s by shape where
 * {@link RowKernel} streams at 29-32, and the ~70 tensor ops a layer takes (5-15 us each through DJL) left the
 * memory idle between products. Here a layer is the seven products of its weights plus a few loops over D-sized
 * arrays; the embedding row is the only tensor read and the logits come out as a Java array.
 *
 * <p>The equations are {@link DecoderLayer}'s, row by row ({@link RowLayer}); the numbers differ from libtorch's path
 * at the level of f16 rounding, since libtorch's f16 matvec rounds its input and output to f16 where the Java
 * kernels keep f32. Used only when every projection has a packed form (dtype {@code mixed} on CPU with the Vector
 * API), the activations are f32 and the cache can be viewed from Java; the JVM property
 * {@code -Dio.flexiserve.java-row-step=false} turns it off (to compare).
 */
final class RowForward implements AutoCloseable {

    private static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("io.flexiserve.java-row-step", "true"));

    private final ModelConfig config;
    private final NDArray embedTokens; // (V, D)
    private final RowLayer[] layers;
    private final RowNorm norm;
    private final VectorGemm lmHead;
    private final List<VectorGemm> packedHere; // the routers' and adapters' packed copies, closed with this

    private RowForward(ModelConfig config, NDArray embedTokens, RowLayer[] layers, RowNorm norm, VectorGemm lmHead,
                       List<VectorGemm> packedHere) {
        this.config = config;
        this.embedTokens = embedTokens;
        this.layers = layers;
        this.norm = norm;
        this.lmHead = lmHead;
        this.packedHere = packedHere;
    }

    /**
     * The row path over these weights (packing the routers and adapters once), or null where it does not apply:
     * turned off, activations not f32 on the CPU, or a projection without a packed form.
     */
    static RowForward of(ModelConfig config, DataType dtype, Rope rope, NDArray embedTokens, DecoderLayer[] layers,
                         RmsNorm norm, Linear lmHead) {
        boolean applies = ENABLED && dtype == DataType.FLOAT32 && !embedTokens.getDevice().isGpu() && lmHead.packed();
        for (int l = 0; l < layers.length && applies; l++) {
            applies = RowLayer.supports(layers[l]);
        }
        if (!applies) {
            return null;
        }
        List<VectorGemm> packedHere = new ArrayList<>();
        RowLayer[] rows = new RowLayer[layers.length];
        for (int l = 0; l < layers.length; l++) {
            rows[l] = RowLayer.of(l, config, rope, layers[l], linear -> {
                VectorGemm packed = VectorGemm.pack(linear.weight());
                packedHere.add(packed);
                return packed;
            });
        }
        return new RowForward(config, embedTokens, rows, RowNorm.of(norm), lmHead.packedWeight(), packedHere);
    }

    /** Whether this path takes the step: one row, and a cache Java can read and write in place. */
    boolean accepts(StepBatch batch, KvCache cache) {
        return batch.rows() == 1 && cache.javaViews();
    }

    /** The step of {@link FlexiDepthModel#forward} for a batch of one row. */
    ForwardResult forward(StepBatch batch, KvCache cache) {
        SequenceChunk chunk = batch.chunks().get(0);
        RoutingTrace trace = new RoutingTrace(config, 1);
        RowStep step = new RowStep(cache, chunk, trace, config.headDim());
        float[] x;
        try (NDArray row = embedTokens.get(chunk.tokens()[0])) {
            x = row.toFloatArray(); // (D)
        }
        for (RowLayer layer : layers) {
            layer.forward(x, step);
        }
        float[] logits = chunk.wantLogits() ? lmHead.multiplyRow(norm.apply(x)) : null; // (V)
        return new ForwardResult(new float[][] {logits}, trace);
    }

    @Override
    public void close() {
        packedHere.forEach(packed -> packed.storage().close());
    }
}
