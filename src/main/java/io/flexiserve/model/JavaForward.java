package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.flexiserve.model.cpu.NativeKernels;
import io.flexiserve.model.cpu.RowKernel;
import io.flexiserve.model.cpu.VectorGemm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A step through the whole network in Java, on the packed weights of {@code mixed}, {@code q8} or {@code q4}: no
 * libtorch op per layer. It takes every decode step (every sequence of the step brings one new token) and, where the
 * native attention kernel runs ({@link NativeKernels#attends}), steps with prompt chunks too.
 *
 * <p>Why: a step of one row is bound by reading every weight once, and two things kept libtorch's path from that
 * bound on this CPU: its f16 matvec streams slower than {@link RowKernel}, and the ~70 tensor ops a layer takes
 * through DJL left the memory idle between products (BENCHMARKS.md, "What limits these figures", item "Batch-1
 * decode"). Steps of several rows are compute-bound on the same Java kernels, where those ops were a sixth of a
 * 16-row step. Here a layer is the products of its weights plus loops over the rows; no tensor is read (each
 * embedding row is widened from the checkpoint's mapping) and the logits come out as Java arrays.
 *
 * <p>The equations are {@link DecoderLayer}'s, row by row ({@link JavaLayer}). A row's numbers do not depend on the
 * rows beside it (the kernels add each row's products in the same order at any row count), so batching never
 * changes a sequence's output here; they differ from libtorch's path at the level of f16 rounding, since libtorch's
 * f16 matvec rounds its input and output to f16 where the Java kernels keep f32. With the native attention kernel a
 * row's numbers do not depend on its chunk either, nor on whether it was prefilled or decoded; a prompt step there
 * kept both cores busy where the tensor path ran its attention on one (docs/djl-traps.md, trap 24). Without that
 * kernel, steps with prompt chunks of several rows stay on tensors. Used only when every projection has a
 * packed form (dtype {@code mixed} on CPU with the Vector API), the activations are f32 and the cache can be viewed
 * from Java; the JVM property {@code -Dio.flexiserve.java-decode=false} turns it off (to compare).
 */
final class JavaForward implements AutoCloseable {

    static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("io.flexiserve.java-decode", "true"));
    /** Whether the cache stores f16 where this path takes every step ({@link FlexiDepthModel#kvDtype}); off to compare. */
    private static final boolean HALF_KV = Boolean.parseBoolean(System.getProperty("io.flexiserve.f16-kv", "true"));

    private final ModelConfig config;
    private final Rope rope;
    private final Embedding embedding; // (V, D)
    private final JavaLayer[] layers;
    private final JavaNorm norm;
    private final VectorGemm lmHead;
    private final List<VectorGemm> packedHere; // the routers' and adapters' packed copies, closed with this
    private final boolean promptChunks; // whether chunks of several rows run here too (NativeKernels.attends)

    private JavaForward(ModelConfig config, Rope rope, Embedding embedding, JavaLayer[] layers, JavaNorm norm,
                        VectorGemm lmHead, List<VectorGemm> packedHere) {
        this.config = config;
        this.rope = rope;
        this.embedding = embedding;
        this.layers = layers;
        this.norm = norm;
        this.lmHead = lmHead;
        this.packedHere = packedHere;
        this.promptChunks = NativeKernels.attends(config.headDim());
    }

    /**
     * The Java path over these weights (packing the routers and adapters once), or null where it does not
     * apply: turned off, activations not f32 on the CPU, or a projection without a packed form.
     */
    static JavaForward of(ModelConfig config, DataType dtype, Rope rope, Embedding embedding, DecoderLayer[] layers,
                          RmsNorm norm, Linear lmHead) {
        boolean applies = ENABLED && dtype == DataType.FLOAT32 && !embedding.onGpu() && lmHead.packed();
        for (int l = 0; l < layers.length && applies; l++) {
            applies = layers[l].hasJavaForm();
        }
        if (!applies) {
            return null;
        }
        List<VectorGemm> packedHere = new ArrayList<>();
        JavaLayer[] java = new JavaLayer[layers.length];
        for (int l = 0; l < layers.length; l++) {
            java[l] = layers[l].javaForm(l, config, linear -> {
                if (linear.packed()) { // loaded packed (ModelLoader): the one copy serves both paths
                    return linear.packedWeight();
                }
                VectorGemm packed = VectorGemm.pack(linear.weight()); // a router set's copies
                packedHere.add(packed);
                return packed;
            });
        }
        return new JavaForward(config, rope, embedding, java, JavaNorm.of(norm), lmHead.packedWeight(), packedHere);
    }

    /**
     * Whether this path takes the step: a cache Java can read and write in place, and every chunk a single row, or
     * the native attention kernel there for chunks of several (prompt chunks) and for an f16 cache.
     */
    boolean accepts(StepBatch batch, KvCache cache) {
        return cache.javaViews() && (promptChunks || batch.rows() == batch.chunks().size() && !cache.halves());
    }

    /** Whether chunks of several rows (prompt chunks) run here too: where the native attention kernel is. */
    boolean takesPromptChunks() {
        return promptChunks;
    }

    /**
     * Whether this path, where it applies to a model of this shape, keeps the cache in f16: it then takes every step
     * (as {@link #takesPromptChunks}), its attention kernel widening the rows as it loads them ({@link
     * FlexiDepthModel#kvDtype}, {@link ModelOptions#kvDtype}).
     */
    static boolean halvesCache(ModelConfig config) {
        return ENABLED && HALF_KV && NativeKernels.attends(config.headDim());
    }

    /** The step of {@link FlexiDepthModel#forward}: each chunk's rows through every layer, the logits of its last. */
    ForwardResult forward(StepBatch batch, KvCache cache) {
        int n = batch.rows();
        int d = config.hiddenSize();
        RoutingTrace trace = new RoutingTrace(config, n);
        JavaStep step = new JavaStep(cache, batch, rope, config.headDim(), trace);
        float[] x = new float[n * d]; // (N, D)
        int r = 0;
        for (SequenceChunk chunk : batch.chunks()) {
            for (int token : chunk.tokens()) {
                embedding.row(token, x, r++ * d);
            }
        }
        for (JavaLayer layer : layers) {
            layer.forward(x, step);
        }
        return new ForwardResult(logits(x, batch), trace);
    }

    /** lm_head over the normed last row of each chunk that wants logits: S x (V), null for the others. */
    private float[][] logits(float[] x, StepBatch batch) {
        int chunks = batch.chunks().size();
        int d = config.hiddenSize();
        int vocab = config.vocabSize();
        float[][] out = new float[chunks][];
        int[] wanted = IntStream.range(0, chunks).filter(c -> batch.chunks().get(c).wantLogits()).toArray();
        if (wanted.length == 0) {
            return out;
        }
        float[] last = new float[wanted.length * d];
        for (int i = 0; i < wanted.length; i++) {
            System.arraycopy(x, batch.lastRow(wanted[i]) * d, last, i * d, d);
        }
        float[] flat = lmHead.multiplyRows(norm.apply(last), wanted.length); // (S, V)
        for (int i = 0; i < wanted.length; i++) {
            out[wanted[i]] = wanted.length == 1 ? flat : Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
        }
        return out;
    }

    @Override
    public void close() {
        packedHere.forEach(packed -> packed.storage().close());
    }
}
