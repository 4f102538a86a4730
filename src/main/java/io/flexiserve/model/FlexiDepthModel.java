package io.flexiserve.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import io.flexiserve.model.checkpoint.CheckpointTensors;
import io.flexiserve.model.cpu.NativeKernels;
import io.flexiserve.model.cpu.PackedWeightCache;
import io.flexiserve.model.cpu.TorchThreads;
import io.flexiserve.model.cpu.VectorGemm;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A loaded FlexiDepth-Llama (or plain Llama) network: embedding, decoder layers, final norm and LM head.
 * {@link #forward} runs one step over the token rows of several sequences (prompt chunks and decode rows
 * together) and returns next-token logits plus what every router decided. Not thread-safe: one engine
 * thread owns a model and its caches.
 */
public final class FlexiDepthModel implements AutoCloseable {

    private final ModelConfig config;
    private final NDManager manager;
    private final DataType dtype;
    private final Rope rope;
    private final Embedding embedding;    // (V, D)
    private final DecoderLayer[] layers;  // L
    private final RmsNorm norm;           // (D)
    private final Linear lmHead;          // (V, D)
    private final AutoCloseable owned;    // what close() releases: the weights and their mappings, or a view's routers
    private final JavaForward javaPath; // the Java path, or null where the weights have no packed form

    FlexiDepthModel(ModelConfig config, NDManager manager, DataType dtype, Rope rope, Embedding embedding,
                    DecoderLayer[] layers, RmsNorm norm, Linear lmHead, AutoCloseable owned) {
        this.config = config;
        this.manager = manager;
        this.dtype = dtype;
        this.rope = rope;
        this.embedding = embedding;
        this.layers = layers;
        this.norm = norm;
        this.lmHead = lmHead;
        this.owned = owned;
        this.javaPath = JavaForward.of(config, dtype, rope, embedding, layers, norm, lmHead);
    }

    /** The base weights with another model instance's tensors (for a loader): close() releases both. */
    static AutoCloseable owning(NDManager manager, CheckpointTensors tensors, PackedWeightCache cache) {
        return () -> {
            manager.close();
            tensors.close();
            if (cache != null) {
                cache.close(); // after the manager: its tensors viewed the cache's mappings
            }
        };
    }

    /**
     * This model's weights with another router set (a fine-tuned one, or routers for a plain Llama): a view
     * that shares every base tensor and owns only copies of the routers in this model's dtypes. Closing the
     * view releases those copies; the base must outlive it.
     */
    public FlexiDepthModel withRouters(RouterWeights routers) {
        ModelConfig routed = routers.config();
        if (routed.hiddenSize() != config.hiddenSize() || routed.numLayers() != config.numLayers()
                || routed.intermediateSize() != config.intermediateSize()) {
            throw new IllegalArgumentException("the router set is for another model shape");
        }
        List<NDArray> owned = new ArrayList<>();
        Function<NDArray, NDArray> copy = array -> {
            NDArray c = array.toType(dtype, true);
            c.attach(manager); // op results belong to the source's manager, which the caller may close
            owned.add(c);
            return c;
        };
        // router projections as this model holds its own: packed f32 on the Java kernels (the one copy both forward
        // paths multiply on), else tensors in its routers' dtype
        Linear own = ownRouterProjection();
        boolean packed = own != null ? own.packed() : lmHead.packed();
        DataType projectionDtype = own != null ? own.dtype() : packed ? DataType.FLOAT32 : weightDtype();
        Function<NDArray, Linear> projection = array -> {
            NDArray c = array.toType(projectionDtype, true);
            c.attach(manager);
            if (!packed || !VectorGemm.accepts(c)) {
                owned.add(c);
                return new Linear(c);
            }
            VectorGemm gemm = VectorGemm.pack(c);
            c.close();
            owned.add(gemm.storage());
            return Linear.packed(gemm);
        };
        DecoderLayer[] viewLayers = layersWith(routers, projection, copy);
        return new FlexiDepthModel(routed, manager, dtype, rope, embedding, viewLayers, norm, lmHead,
                () -> owned.forEach(NDArray::close));
    }

    /** One of this model's own router projections, or null for a plain Llama. */
    private Linear ownRouterProjection() {
        for (DecoderLayer layer : layers) {
            if (layer.isRouted()) {
                return layer.router.routerEnc;
            }
        }
        return null;
    }

    /**
     * This model's layers with the routers and adapters of {@code routers} in its routed layers (and plain
     * layers elsewhere): {@code projection} makes each router or adapter projection of its weight, {@code normWeight}
     * turns each router norm's weight into the one used.
     */
    DecoderLayer[] layersWith(RouterWeights routers, Function<NDArray, Linear> projection,
                              Function<NDArray, NDArray> normWeight) {
        List<Integer> routing = routers.layers();
        DecoderLayer[] out = new DecoderLayer[layers.length];
        for (int l = 0; l < layers.length; l++) {
            int index = routing.indexOf(l);
            if (index < 0) {
                out[l] = layers[l].unrouted();
                continue;
            }
            int layer = l;
            Function<String, Linear> linear = name -> projection.apply(routers.get(layer, name));
            Router router = new Router(linear.apply("router.router_enc.weight"),
                    new RmsNorm(normWeight.apply(routers.get(l, "router.router_norm.weight")), config.rmsNormEps()),
                    linear.apply("router.router_dec.weight"), linear.apply("router.router_head.weight"));
            // The adapter's names are swapped against a Llama MLP: down_proj is its input side, up_proj its output.
            SwiGlu adapter = new SwiGlu(linear.apply("router_proj.gate_proj.weight"),
                    linear.apply("router_proj.down_proj.weight"), linear.apply("router_proj.up_proj.weight"));
            out[l] = layers[l].withRouting(router, adapter, index);
        }
        return out;
    }

    /** The projection weights' dtype (f16 under f32 activations with {@code f16-weights}). */
    public DataType weightDtype() {
        return lmHead.dtype();
    }

    /** Every base (non-router) weight, for tests that check training leaves them untouched. */
    List<NDArray> baseWeights() {
        List<NDArray> weights = new ArrayList<>(List.of(norm.weight));
        if (embedding.table() != null) {
            weights.add(embedding.table());
        }
        weights.addAll(lmHead.stored());
        for (DecoderLayer layer : layers) {
            Attention a = layer.selfAttn;
            weights.addAll(List.of(layer.inputLayernorm.weight, layer.postAttentionLayernorm.weight));
            for (Linear linear : List.of(a.qProj, a.kProj, a.vProj, a.oProj, layer.mlp.gate, layer.mlp.value, layer.mlp.out)) {
                weights.addAll(linear.stored());
            }
        }
        return weights;
    }

    /** The embedding as a tensor (V, D); models loaded for training have one (not the Java kernels' stored rows). */
    NDArray embedTokens() {
        if (embedding.table() == null) {
            throw new IllegalStateException("this model reads its embedding rows from the checkpoint: no tensor");
        }
        return embedding.table();
    }

    RmsNorm norm() {
        return norm;
    }

    Linear lmHead() {
        return lmHead;
    }

    /** The decoder layers, for tests that look at how their weights are stored. */
    DecoderLayer[] layers() {
        return layers;
    }

    Rope rope() {
        return rope;
    }

    NDManager manager() {
        return manager;
    }

    public ModelConfig config() {
        return config;
    }

    public DataType dtype() {
        return dtype;
    }

    public Device device() {
        return manager.getDevice();
    }

    /** Longest sequence (prompt + generated) this model instance can run. */
    public int maxPositions() {
        return rope.maxPositions();
    }

    /**
     * The dtype the KV cache stores its rows in: f16 where the Java path takes every step ({@link
     * JavaForward#halvesCache}: its attention kernel widens f16 rows as it loads them), half the memory and
     * the reads of f32 at every context length; else the compute dtype. {@link ModelOptions#kvDtype} foretells it
     * before loading.
     */
    public DataType kvDtype() {
        return javaPath != null && JavaForward.halvesCache(config) ? DataType.FLOAT16 : dtype;
    }

    /** A KV cache for {@code capacity} token rows, shared by all sequences of an engine. */
    public KvCache newKvCache(int capacity) {
        return new KvCache(manager, config, capacity, kvDtype(), dtype);
    }

    /** One step: every chunk's rows through every layer, writing their keys and values into the cache. */
    public ForwardResult forward(StepBatch batch, KvCache cache) {
        if (javaPath != null && javaPath.accepts(batch, cache)) {
            checkFits(batch, cache);
            return javaPath.forward(batch, cache);
        }
        return forwardOnTensors(batch, cache); // which checks the batch itself
    }

    /** Whether this model has the Java path ({@link JavaForward}): every decode step, at least, runs there. */
    boolean hasJavaPath() {
        return javaPath != null;
    }

    /** Whether {@link #forward} takes this step in Java ({@link JavaForward}) rather than on tensors. */
    boolean runsInJava(StepBatch batch, KvCache cache) {
        return javaPath != null && javaPath.accepts(batch, cache);
    }

    /** Which forward path takes which step, and on what weights: chosen at load, for the log. */
    public String forwardPaths() {
        String weights = lmHead.packed() ? "packed " + lmHead.packedWeight().format().label() + " weights"
                : weightDtype() + " weights";
        if (javaPath != null) {
            String steps = javaPath.takesPromptChunks() ? "decode steps and prompt chunks in Java (JavaForward)"
                    : "decode steps in Java (JavaForward), prompt chunks on libtorch tensors";
            return steps + "; every projection on " + weights + ", multiplied by the " + NativeKernels.describe();
        }
        String kernels = lmHead.packed() ? " (projections on the Java kernels)" : "";
        String off = JavaForward.ENABLED ? "" : "; the Java path turned off (-Dio.flexiserve.java-decode=false)";
        return "every step on libtorch tensors, " + weights + kernels + off;
    }

    /** {@link #forward} on libtorch tensors, whatever the step (tests compare it with the Java path). */
    ForwardResult forwardOnTensors(StepBatch batch, KvCache cache) {
        checkFits(batch, cache);
        if (JniUtils.isGradMode()) {
            JniUtils.setGradMode(false); // grad mode is per thread and on by default (docs/djl-traps.md, trap 4)
        }
        if (lmHead.packed()) { // the loader packs the head exactly when it packs the projections (Linear.of)
            TorchThreads.use(batch.rows() >= 2 ? 1 : TorchThreads.ALL); // batched steps: see TorchThreads
        }
        RoutingTrace trace = new RoutingTrace(config, batch.rows());
        try (NDScope ignored = new NDScope()) {
            NDArray x = residual(new StepContext(batch, cache, trace, manager, rope), layers.length);
            return new ForwardResult(logits(x, batch), trace);
        }
    }

    /** The residual stream of the batch's last row after the first {@code layerCount} layers (for layer-level tests). */
    float[] hiddenAfter(StepBatch batch, KvCache cache, int layerCount) {
        checkFits(batch, cache);
        JniUtils.setGradMode(false);
        try (NDScope ignored = new NDScope()) {
            StepContext step = new StepContext(batch, cache, new RoutingTrace(config, batch.rows()), manager, rope);
            return residual(step, layerCount).get(batch.rows() - 1).toFloatArray();
        }
    }

    /**
     * The residual stream of the step's rows after embedding and the first {@code layerCount} layers: (N, D). Each
     * layer runs in a scope of its own whose intermediates are freed as it ends, so a step holds one layer's
     * activations at a time, not all of them (a 1024-token prompt of the ~1.5B shape had peaked at 14 GB).
     */
    private NDArray residual(StepContext step, int layerCount) {
        NDArray x = embedding.lookup(manager, step.batch.tokens(), dtype); // (N, D)
        for (int l = 0; l < layerCount; l++) {
            NDArray y;
            try (NDScope layer = new NDScope()) {
                y = layers[l].forward(x, step);
                NDScope.unregister(y);
            }
            NDScope.register(y); // now owned by the step's scope
            x.close();
            x = y;
        }
        return x;
    }

    /** lm_head(norm(x)) for the last row of each chunk that wants logits: (S, D) -> S x (V). */
    private float[][] logits(NDArray x, StepBatch batch) {
        int chunks = batch.chunks().size();
        long[] rows = new long[(int) batch.chunks().stream().filter(SequenceChunk::wantLogits).count()];
        float[][] out = new float[chunks][];
        if (rows.length == 0) {
            return out;
        }
        for (int c = 0, s = 0; c < chunks; c++) {
            if (batch.chunks().get(c).wantLogits()) {
                rows[s++] = batch.lastRow(c);
            }
        }
        float[] flat = lmHead.forward(norm.forward(x.get(manager.create(rows))))
                .toType(DataType.FLOAT32, false).toFloatArray(); // (S, V)
        int vocab = config.vocabSize();
        for (int c = 0, s = 0; c < chunks; c++) {
            if (batch.chunks().get(c).wantLogits()) {
                out[c] = new float[vocab];
                System.arraycopy(flat, s++ * vocab, out[c], 0, vocab);
            }
        }
        return out;
    }

    private void checkFits(StepBatch batch, KvCache cache) {
        for (SequenceChunk chunk : batch.chunks()) {
            if (chunk.endPosition() > maxPositions()) {
                throw new IllegalArgumentException("sequence of " + chunk.endPosition()
                        + " tokens exceeds the model's " + maxPositions() + " positions");
            }
            int last = chunk.kv().row(chunk.endPosition() - 1);
            if (last >= cache.capacity()) {
                throw new IllegalArgumentException("KV row " + last + " exceeds the cache capacity " + cache.capacity());
            }
            for (int token : chunk.tokens()) {
                if (token < 0 || token >= config.vocabSize()) {
                    throw new IllegalArgumentException("token id " + token + " outside the vocabulary of " + config.vocabSize());
                }
            }
        }
    }

    @Override
    public void close() {
        if (javaPath != null) {
            javaPath.close();
        }
        try {
            owned.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the model's weights failed", e);
        }
    }
}
