package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.flexiserve.model.checkpoint.CheckpointException;
import io.flexiserve.model.checkpoint.CheckpointTensors;
import io.flexiserve.model.cpu.NativeHeap;
import io.flexiserve.model.cpu.PackedWeightCache;
import io.flexiserve.model.cpu.VectorGemm;
import java.nio.file.Path;
import java.util.List;

/**
 * Builds a {@link FlexiDepthModel} from an HF checkpoint directory. The one place that maps tensor names
 * ({@code model.layers.{i}.self_attn.q_proj.weight}, ...) to fields and checks every shape against
 * config.json.
 */
public final class ModelLoader {

    private final ModelConfig config;
    private final CheckpointTensors tensors;
    private final NDManager manager;
    private final DataType dtype;       // norms, embeddings, activations
    private final DataType weightDtype; // projections
    private final ModelOptions options;
    private final PackedWeightCache cache; // the Java kernels' packed weights on disk, or null

    private ModelLoader(ModelConfig config, CheckpointTensors tensors, NDManager manager, ModelOptions options,
                        PackedWeightCache cache) {
        this.options = options;
        this.cache = cache;
        this.config = config;
        this.tensors = tensors;
        this.manager = manager;
        this.dtype = options.dtype();
        this.weightDtype = options.weightDtype();
    }

    /** Loads the checkpoint at {@code dir}; every problem is a {@link CheckpointException} naming the file. */
    public static FlexiDepthModel load(Path dir, ModelOptions options) {
        return load(dir, options, progress -> { });
    }

    /** As {@link #load(Path, ModelOptions)}, reporting the fraction of layers loaded so far. */
    public static FlexiDepthModel load(Path dir, ModelOptions options, LoadProgress progress) {
        return load(dir, options, progress, null, null);
    }

    /**
     * As {@link #load(Path, ModelOptions, LoadProgress)}; on the Java kernels, with {@code cacheRoot} given, the
     * packed weights are mapped from the {@link PackedWeightCache} entry for this checkpoint and {@code dtype} when
     * there is one, and written there for the next start when there is not.
     */
    public static FlexiDepthModel load(Path dir, ModelOptions options, LoadProgress progress, Path cacheRoot,
                                       String dtype) {
        ModelConfig config = ModelConfig.read(dir);
        CheckpointTensors tensors = CheckpointTensors.open(dir);
        NDManager manager = null;
        PackedWeightCache cache = null;
        try {
            checkRoutersListed(dir, config, tensors);
            checkTensors(config, tensors);
            manager = NDManager.newBaseManager(options.device());
            cache = cacheRoot != null && options.javaKernels()
                    ? PackedWeightCache.open(cacheRoot, dir, dtype, MemoryEstimate.weightBytes(config, options)) : null;
            FlexiDepthModel model = new ModelLoader(config, tensors, manager, options, cache).build(options, progress);
            if (cache != null) {
                cache.commit();
            }
            NativeHeap.trimAndLog("loaded"); // the last layer's and the head's freed temporaries
            return model;
        } catch (RuntimeException | Error e) { // out of memory included: nothing half-written or held is left
            if (manager != null) {
                manager.close();
            }
            tensors.close();
            if (cache != null) {
                cache.close();
            }
            throw e;
        }
    }

    /**
     * Every tensor the model reads, with its shape, checked from the checkpoint's headers before any weight is
     * converted (which takes minutes at the release's shape): a missing or misshapen tensor in the last layer fails
     * at once, not at 97%. The names are those {@link #build} loads (every kind of checkpoint the tests generate,
     * FlexiDepth, plain Llama and tied embeddings, goes through both).
     */
    private static void checkTensors(ModelConfig c, CheckpointTensors tensors) {
        long d = c.hiddenSize();
        long f = c.intermediateSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        tensors.require("model.embed_tokens.weight", c.vocabSize(), d);
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            tensors.require(p + "self_attn.q_proj.weight", q, d);
            tensors.require(p + "self_attn.k_proj.weight", kv, d);
            tensors.require(p + "self_attn.v_proj.weight", kv, d);
            tensors.require(p + "self_attn.o_proj.weight", d, q);
            tensors.require(p + "mlp.gate_proj.weight", f, d);
            tensors.require(p + "mlp.up_proj.weight", f, d);
            tensors.require(p + "mlp.down_proj.weight", d, f);
            tensors.require(p + "input_layernorm.weight", d);
            tensors.require(p + "post_attention_layernorm.weight", d);
            if (c.routingLayers().contains(i)) {
                RouterWeights.shapes(c, i).forEach(tensors::require);
            }
        }
        tensors.require("model.norm.weight", d);
        if (!c.tieWordEmbeddings() || tensors.contains("lm_head.weight")) {
            tensors.require("lm_head.weight", c.vocabSize(), d);
        }
    }

    /** Refuses, before any weight is converted, a checkpoint whose routers its config.json does not list. */
    private static void checkRoutersListed(Path dir, ModelConfig config, CheckpointTensors tensors) {
        for (int i = 0; i < config.numLayers(); i++) {
            String router = "model.layers." + i + ".router.router_head.weight";
            if (!config.routingLayers().contains(i) && tensors.contains(router)) {
                throw new CheckpointException(dir.resolve("config.json"), "layer " + i + " has a router (" + router
                        + ") but routing_layers " + config.routingLayers() + " does not list it: served so, its router"
                        + " would be ignored; list every routed layer in routing_layers");
            }
        }
    }

    private FlexiDepthModel build(ModelOptions options, LoadProgress progress) {
        int d = config.hiddenSize();
        int positions = options.maxPositions() > 0 ? options.maxPositions() : config.maxPositionEmbeddings();
        Rope rope = new Rope(manager, config, positions, dtype);
        // the Java kernels' models read the embedding's rows where they lie in the checkpoint (no copy)
        String embedName = "model.embed_tokens.weight";
        Embedding embed = options.javaKernels() ? Embedding.stored(tensors.rows(embedName, config.vocabSize(), d))
                : Embedding.of(tensors.load(manager, embedName, dtype, config.vocabSize(), d));
        DecoderLayer[] layers = new DecoderLayer[config.numLayers()];
        List<Integer> routed = config.routingLayers();
        for (int i = 0; i < layers.length; i++) {
            layers[i] = layer(i, routed.indexOf(i), rope, options.premultiplyRouterHead());
            NativeHeap.trim(); // the layer's freed temporaries: the C allocator keeps most of them resident
            progress.loaded((i + 1.0) / (layers.length + 1));
        }
        RmsNorm norm = new RmsNorm(load("model.norm.weight", d), config.rmsNormEps());
        Linear lmHead = config.tieWordEmbeddings() && !tensors.contains("lm_head.weight")
                ? tiedHead(embed, embedName, options)
                : projection("lm_head.weight", config.vocabSize(), d);
        progress.loaded(1.0);
        return new FlexiDepthModel(config, manager, dtype, rope, embed, layers, norm, lmHead,
                FlexiDepthModel.owning(manager, tensors, cache));
    }

    private DecoderLayer layer(int i, int routedIndex, Rope rope, boolean premultiply) {
        String p = "model.layers." + i + ".";
        int d = config.hiddenSize();
        int f = config.intermediateSize();
        int q = config.numHeads() * config.headDim();
        int kv = config.numKvHeads() * config.headDim();
        Attention attention = new Attention(i, config, rope,
                projection(p + "self_attn.q_proj.weight", q, d), projection(p + "self_attn.k_proj.weight", kv, d),
                projection(p + "self_attn.v_proj.weight", kv, d), projection(p + "self_attn.o_proj.weight", d, q));
        SwiGlu mlp = new SwiGlu(projection(p + "mlp.gate_proj.weight", f, d), projection(p + "mlp.up_proj.weight", f, d),
                projection(p + "mlp.down_proj.weight", d, f));
        RmsNorm inputNorm = new RmsNorm(load(p + "input_layernorm.weight", d), config.rmsNormEps());
        RmsNorm postNorm = new RmsNorm(load(p + "post_attention_layernorm.weight", d), config.rmsNormEps());
        if (routedIndex < 0) {
            return new DecoderLayer(inputNorm, attention, postNorm, mlp, null, null, -1);
        }
        int r = config.routerDim();
        int m = config.adapterDim();
        Router router = new Router(linear(p + "router.router_enc.weight", r, d),
                new RmsNorm(load(p + "router.router_norm.weight", r), config.rmsNormEps()),
                linear(p + "router.router_dec.weight", d, r), linear(p + "router.router_head.weight", 1, d));
        // The adapter's names are swapped against a Llama MLP: down_proj is its input side, up_proj its output.
        SwiGlu adapter = new SwiGlu(linear(p + "router_proj.gate_proj.weight", m, d),
                linear(p + "router_proj.down_proj.weight", m, d), linear(p + "router_proj.up_proj.weight", d, m));
        return new DecoderLayer(inputNorm, attention, postNorm, mlp, premultiply ? router.premultiplied() : router,
                adapter, routedIndex);
    }

    /**
     * The LM head of tied embeddings: the embedding's tensor itself when the dtypes agree, else the embedding loaded
     * again in the weights' dtype (on the Java kernels packed, and cached as {@code lm_head.weight}).
     */
    private Linear tiedHead(Embedding embed, String embedName, ModelOptions options) {
        if (weightDtype == dtype && embed.table() != null) {
            return new Linear(embed.table());
        }
        return cachedOr("lm_head.weight", config.vocabSize(), config.hiddenSize(),
                () -> packedOrMapped(embedName, Linear.of(tensors.load(manager, embedName, weightDtype, config.vocabSize(),
                        config.hiddenSize()), options)));
    }

    /** One of the base model's large projections, with an f32 copy for big steps when the options ask for one. */
    private Linear projection(String name, long out, long in) {
        return cachedOr(name, out, in, () -> packedOrMapped(name, Linear.of(tensors.load(manager, name, weightDtype, out, in),
                options)));
    }

    /**
     * A packed weight no longer reads the checkpoint tensor it was packed from: its file pages are unmapped (an f16
     * checkpoint's weights are loaded as views of the file, which would otherwise stay resident).
     */
    private Linear packedOrMapped(String name, Linear linear) {
        if (linear.packed()) {
            tensors.release(name);
        }
        return linear;
    }

    /**
     * A router or adapter weight: on the Java kernels f32 (they are small, and decide the routing), packed as its only
     * copy unless the router head is to be premultiplied, which needs the tensors; elsewhere a tensor in the weights'
     * dtype.
     */
    private Linear linear(String name, long out, long in) {
        if (!options.javaKernels()) {
            return new Linear(tensors.load(manager, name, weightDtype, out, in));
        }
        if (options.premultiplyRouterHead()) {
            return new Linear(tensors.load(manager, name, DataType.FLOAT32, out, in));
        }
        return cachedOr(name, out, in, () -> Linear.packedExact(tensors.load(manager, name, DataType.FLOAT32, out, in)));
    }

    /**
     * The weight {@code name} mapped from the packed-weight cache when its entry holds it; else {@code build}'s, which,
     * when packed, is written to the entry being written and served mapped from there (its packed copy freed).
     */
    private Linear cachedOr(String name, long out, long in, java.util.function.Supplier<Linear> build) {
        VectorGemm mapped = cache == null ? null : cache.find(name, manager, out, in);
        if (mapped != null) {
            return Linear.packed(mapped);
        }
        Linear linear = build.get();
        VectorGemm written = cache != null && linear.packed() ? cache.record(name, linear.packedWeight(), manager) : null;
        if (written == null) {
            return linear;
        }
        linear.packedWeight().storage().close(); // the copy just written: the mapping serves instead
        return Linear.packed(written);
    }

    private NDArray load(String name, long... shape) {
        return tensors.load(manager, name, dtype, shape);
    }

    /** Receives the fraction (0..1] of the checkpoint loaded so far. */
    @FunctionalInterface
    public interface LoadProgress {
        void loaded(double fraction);
    }
}
