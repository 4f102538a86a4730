package io.flexiserve.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flexiserve.model.checkpoint.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The hyper-parameters of a Llama or FlexiDepth-Llama checkpoint, read from its {@code config.json}.
 *
 * @param modelType             {@code llama} (served at full depth) or {@code ddllama} (FlexiDepth)
 * @param routingLayers         0-based indices of the layers that carry a router and an adapter,
 *                              ascending; empty for a plain Llama checkpoint
 * @param routerReductionFactor the router's hidden size is {@code hiddenSize / routerReductionFactor}
 * @param projReductionFactor   the adapter's hidden size is {@code intermediateSize / projReductionFactor}
 * @param ropeScaling           Llama 3.1 frequency scaling, or null
 * @param eosTokenIds           the {@code eos_token_id} of config.json (one id or a list)
 */
public record ModelConfig(
        String modelType,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        List<Integer> routingLayers,
        int routerReductionFactor,
        int projReductionFactor,
        int bosTokenId,
        List<Integer> eosTokenIds,
        String torchDtype) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int DEFAULT_REDUCTION = 16;

    public ModelConfig {
        routingLayers = List.copyOf(routingLayers);
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** A config built field by field from Llama-3's defaults (see {@link Builder}). */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * FlexiDepth-Llama-3-8B-Instruct's shape: 32 layers, hidden 4096, MLP 14336, 32/8 heads of 128, vocab 128256,
     * layers 16-31 routed, bf16.
     */
    public static ModelConfig release() {
        return builder().hidden(4096).intermediate(14336).layers(32).heads(32, 8).headDim(128).maxPositions(8192)
                .routed(java.util.stream.IntStream.range(16, 32).boxed().toList()).torchDtype("bfloat16").build();
    }

    /**
     * Builds a {@link ModelConfig}: every field starts at Llama-3's value (vocab 128256, eps 1e-5, theta 500000, no
     * RoPE scaling, 8192 positions, untied embeddings, bos 128000, eos 128001 and 128009, reduction factors 16,
     * f32) or, for the shape, at a small model's (hidden 256, MLP 768, 8 layers, 8/4 heads, head_dim hidden/heads);
     * {@link #routed} makes it a FlexiDepth model ({@code ddllama}).
     */
    public static final class Builder {
        private int hidden = 256;
        private int intermediate = 768;
        private int layers = 8;
        private int heads = 8;
        private int kvHeads = 4;
        private int headDim;
        private int vocab = 128256;
        private double rmsNormEps = 1e-5;
        private double ropeTheta = 500000.0;
        private RopeScaling ropeScaling;
        private int maxPositions = 8192;
        private boolean tied;
        private List<Integer> routed = List.of();
        private int routerReduction = DEFAULT_REDUCTION;
        private int projReduction = DEFAULT_REDUCTION;
        private int bos = 128000;
        private List<Integer> eos = List.of(128001, 128009);
        private String torchDtype = "float32";

        private Builder() {
        }

        public Builder hidden(int size) {
            this.hidden = size;
            return this;
        }

        public Builder intermediate(int size) {
            this.intermediate = size;
            return this;
        }

        public Builder layers(int count) {
            this.layers = count;
            return this;
        }

        public Builder heads(int attention, int keyValue) {
            this.heads = attention;
            this.kvHeads = keyValue;
            return this;
        }

        /** 0 (the default) means hidden / heads. */
        public Builder headDim(int size) {
            this.headDim = size;
            return this;
        }

        public Builder vocab(int size) {
            this.vocab = size;
            return this;
        }

        public Builder rmsNormEps(double eps) {
            this.rmsNormEps = eps;
            return this;
        }

        public Builder rope(double theta, RopeScaling scaling) {
            this.ropeTheta = theta;
            this.ropeScaling = scaling;
            return this;
        }

        public Builder maxPositions(int positions) {
            this.maxPositions = positions;
            return this;
        }

        public Builder tiedEmbeddings(boolean tiedEmbeddings) {
            this.tied = tiedEmbeddings;
            return this;
        }

        /** The layers that carry a router and an adapter; non-empty makes the model {@code ddllama}. */
        public Builder routed(List<Integer> layerIndices) {
            this.routed = layerIndices;
            return this;
        }

        public Builder reductions(int router, int adapter) {
            this.routerReduction = router;
            this.projReduction = adapter;
            return this;
        }

        public Builder specialTokens(int bosId, List<Integer> eosIds) {
            this.bos = bosId;
            this.eos = eosIds;
            return this;
        }

        public Builder torchDtype(String dtype) {
            this.torchDtype = dtype;
            return this;
        }

        public ModelConfig build() {
            return new ModelConfig(routed.isEmpty() ? "llama" : "ddllama", hidden, intermediate, layers, heads, kvHeads,
                    headDim > 0 ? headDim : hidden / heads, vocab, rmsNormEps, ropeTheta, ropeScaling, maxPositions, tied,
                    routed, routerReduction, projReduction, bos, eos, torchDtype);
        }
    }

    /** Router hidden size R. */
    public int routerDim() {
        return hiddenSize / routerReductionFactor;
    }

    /** Adapter hidden size M. */
    public int adapterDim() {
        return intermediateSize / projReductionFactor;
    }

    public boolean isRouted(int layer) {
        return routingLayers.contains(layer);
    }

    /** This shape with another set of routed layers (a plain Llama becomes a FlexiDepth model, {@code ddllama}). */
    public ModelConfig withRoutingLayers(List<Integer> layers) {
        List<Integer> sorted = layers.stream().sorted().toList();
        return new ModelConfig(sorted.isEmpty() ? modelType : "ddllama", hiddenSize, intermediateSize, numLayers, numHeads,
                numKvHeads, headDim, vocabSize, rmsNormEps, ropeTheta, ropeScaling, maxPositionEmbeddings,
                tieWordEmbeddings, sorted, routerReductionFactor, projReductionFactor, bosTokenId, eosTokenIds, torchDtype);
    }

    /** Layers a token uses when it skips every routed layer. */
    public int unroutedLayers() {
        return numLayers - routingLayers.size();
    }

    /** Reads and checks {@code dir/config.json}; every problem names the file. */
    public static ModelConfig read(Path dir) {
        Path file = dir.resolve("config.json");
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot read config: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(file, "not a JSON object");
        }
        return new ConfigReader(file, root).read();
    }

    /** Writes this config as an HF {@code config.json}. */
    public void write(Path dir) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), json());
    }

    /**
     * This config as the loader would read it back from {@code config.json}: the same checks, so that a shape it
     * would refuse (a routed layer out of range, odd head dims) is known before anything is written.
     */
    public ModelConfig checked() {
        return new ConfigReader(Path.of("config.json"), json()).read();
    }

    /** This config as HF's {@code config.json} holds it. */
    private ObjectNode json() {
        ObjectNode root = JSON.createObjectNode();
        boolean flexi = !routingLayers.isEmpty();
        root.putArray("architectures").add(flexi ? "DDLlamaForCausalLM" : "LlamaForCausalLM");
        root.put("model_type", modelType);
        root.put("hidden_size", hiddenSize);
        root.put("intermediate_size", intermediateSize);
        root.put("num_hidden_layers", numLayers);
        root.put("num_attention_heads", numHeads);
        root.put("num_key_value_heads", numKvHeads);
        root.put("head_dim", headDim);
        root.put("vocab_size", vocabSize);
        root.put("rms_norm_eps", rmsNormEps);
        root.put("rope_theta", ropeTheta);
        if (ropeScaling == null) {
            root.putNull("rope_scaling");
        } else {
            ObjectNode scaling = root.putObject("rope_scaling");
            scaling.put("rope_type", "llama3");
            scaling.put("factor", ropeScaling.factor());
            scaling.put("low_freq_factor", ropeScaling.lowFreqFactor());
            scaling.put("high_freq_factor", ropeScaling.highFreqFactor());
            scaling.put("original_max_position_embeddings", ropeScaling.originalMaxPositions());
        }
        root.put("max_position_embeddings", maxPositionEmbeddings);
        root.put("tie_word_embeddings", tieWordEmbeddings);
        root.put("hidden_act", "silu");
        root.put("attention_bias", false);
        root.put("mlp_bias", false);
        root.put("bos_token_id", bosTokenId);
        ArrayNode eos = root.putArray("eos_token_id");
        eosTokenIds.forEach(eos::add);
        root.put("torch_dtype", torchDtype);
        if (flexi) {
            ArrayNode layers = root.putArray("routing_layers");
            routingLayers.forEach(layers::add);
            root.put("router_reduction_factor", routerReductionFactor);
            root.put("proj_reduction_factor", projReductionFactor);
        }
        return root;
    }

    /** Field-by-field reading with messages that say which key is wrong. */
    private record ConfigReader(Path file, JsonNode root) {

        ModelConfig read() {
            requireFalse("attention_bias");
            requireFalse("mlp_bias");
            String act = root.path("hidden_act").asText("silu");
            if (!act.equals("silu")) {
                throw problem("hidden_act is '" + act + "'; only silu is supported");
            }
            int hidden = positive("hidden_size");
            int heads = positive("num_attention_heads");
            int kvHeads = root.hasNonNull("num_key_value_heads") ? positive("num_key_value_heads") : heads; // as HF: none
            if (heads % kvHeads != 0) {
                throw problem("num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
            }
            int headDim = root.hasNonNull("head_dim") ? positive("head_dim") : hidden / heads;
            if (headDim % 2 != 0) {
                throw problem("head_dim " + headDim + " must be even for RoPE");
            }
            int layers = positive("num_hidden_layers");
            List<Integer> routing = routingLayers(layers);
            int routerFactor = root.has("router_reduction_factor") ? positive("router_reduction_factor") : DEFAULT_REDUCTION;
            int projFactor = root.has("proj_reduction_factor") ? positive("proj_reduction_factor") : DEFAULT_REDUCTION;
            int intermediate = positive("intermediate_size");
            if (!routing.isEmpty() && (hidden % routerFactor != 0 || intermediate % projFactor != 0)) {
                throw problem("hidden_size/intermediate_size not divisible by the router/proj reduction factors");
            }
            String type = root.path("model_type").asText(routing.isEmpty() ? "llama" : "ddllama");
            return new ModelConfig(type, hidden, intermediate, layers, heads, kvHeads, headDim,
                    positive("vocab_size"), root.path("rms_norm_eps").asDouble(1e-5),
                    root.path("rope_theta").asDouble(10000.0), ropeScaling(),
                    root.hasNonNull("max_position_embeddings") ? positive("max_position_embeddings") : 2048,
                    root.path("tie_word_embeddings").asBoolean(false), routing, routerFactor, projFactor,
                    root.path("bos_token_id").asInt(-1), ids(root.path("eos_token_id")),
                    root.path("torch_dtype").asText("float32"));
        }

        private List<Integer> routingLayers(int layers) {
            JsonNode node = root.path("routing_layers");
            if (node.isMissingNode() || node.isNull()) {
                return List.of();
            }
            if (!node.isArray()) {
                throw problem("routing_layers must be a list of layer indices");
            }
            List<Integer> routing = new ArrayList<>();
            for (JsonNode n : node) {
                if (!n.canConvertToInt() || n.asInt() < 0 || n.asInt() >= layers) {
                    throw problem("routing_layers entry " + n + " is not a layer index in [0, " + layers + ")");
                }
                if (routing.contains(n.asInt())) {
                    throw problem("routing_layers lists layer " + n.asInt() + " twice");
                }
                routing.add(n.asInt());
            }
            routing.sort(Integer::compare);
            return routing;
        }

        private RopeScaling ropeScaling() {
            JsonNode node = root.path("rope_scaling");
            if (node.isMissingNode() || node.isNull()) {
                return null;
            }
            String type = node.path("rope_type").asText(node.path("type").asText(""));
            if (!type.equals("llama3")) {
                throw problem("rope_scaling type '" + type + "' is not supported (only llama3 or null)");
            }
            return new RopeScaling(node.path("factor").asDouble(8.0), node.path("low_freq_factor").asDouble(1.0),
                    node.path("high_freq_factor").asDouble(4.0),
                    node.path("original_max_position_embeddings").asInt(8192));
        }

        private static List<Integer> ids(JsonNode node) {
            List<Integer> ids = new ArrayList<>();
            if (node.isArray()) {
                node.forEach(n -> ids.add(n.asInt()));
            } else if (node.canConvertToInt()) {
                ids.add(node.asInt());
            }
            return ids;
        }

        private int positive(String key) {
            JsonNode node = root.get(key);
            if (node == null || !node.canConvertToInt() || node.asInt() <= 0) {
                throw problem(node == null ? "missing key " + key : key + " must be a positive integer, got " + node);
            }
            return node.asInt();
        }

        private void requireFalse(String key) {
            if (root.path(key).asBoolean(false)) {
                throw problem(key + " is true; FlexiServe loads Llama checkpoints without biases");
            }
        }

        private CheckpointException problem(String message) {
            return new CheckpointException(file, message);
        }
    }
}
