package io.flexiserve.model.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flexiserve.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.DoubleSupplier;

/**
 * Writes a seeded random FlexiDepth-Llama (or plain Llama) checkpoint of any shape in HF layout:
 * config.json, generation_config.json and one or several safetensors shards (with
 * model.safetensors.index.json). Each tensor is drawn from {@code java.util.Random} seeded by the global
 * seed and the tensor's name, whose algorithm Java specifies, so a seed gives the same bytes on every JDK.
 *
 * <p>Linear weights are N(0, 0.02^2) as in Llama's initialisation; layer norms are 1 + N(0, 0.1^2) so that
 * tests see non-trivial norm weights; router norms are 1 as docs/model.md section 6 initialises them.
 * {@code gateSpread} sets the standard deviation of the router logits (through the scale of
 * {@code router_head}); 0 keeps the spec's initialisation, where every gate sits near 0.5.
 */
public final class CheckpointGenerator {

    private static final double INIT_STD = 0.02;
    private static final double NORM_NOISE = 0.1;
    /** E[tanh(z)^2] for z ~ N(0, 1): the variance of the router's tanh output. */
    private static final double TANH_VARIANCE = 0.394;

    /**
     * @param config     the shape and the keys written to config.json
     * @param dtype      storage dtype of every tensor
     * @param seed       the random seed
     * @param shards     1 writes model.safetensors; more split the layers over that many shards plus an index
     * @param gateSpread standard deviation of the router logits; 0 for the spec's router initialisation
     * @param favoured   token ids whose LM head rows are drawn with a larger scale, so that a random model
     *                   mostly emits them (the demo model favours printable ASCII); empty for none
     */
    public record Spec(ModelConfig config, TensorDtype dtype, long seed, int shards, double gateSpread,
                       java.util.Set<Integer> favoured) {

        public Spec(ModelConfig config, TensorDtype dtype, long seed, int shards, double gateSpread) {
            this(config, dtype, seed, shards, gateSpread, java.util.Set.of());
        }
    }

    /** How much larger favoured tokens' LM head rows are drawn. */
    private static final double FAVOURED_SCALE = 4;

    private CheckpointGenerator() {
    }

    public static void write(Path dir, Spec spec) throws IOException {
        Files.createDirectories(dir);
        ModelConfig config = spec.config();
        config.write(dir);
        writeGenerationConfig(dir, config);
        List<List<SafetensorsWriter.Entry>> shards = shardEntries(spec);
        if (shards.size() == 1) {
            SafetensorsWriter.write(dir.resolve(CheckpointTensors.SINGLE), spec.dtype(), shards.get(0));
            return;
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata");
        ObjectNode weightMap = index.putObject("weight_map");
        for (int s = 0; s < shards.size(); s++) {
            String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            SafetensorsWriter.write(dir.resolve(name), spec.dtype(), shards.get(s));
            shards.get(s).forEach(e -> weightMap.put(e.name(), name));
        }
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(CheckpointTensors.INDEX).toFile(), index);
    }

    private static List<List<SafetensorsWriter.Entry>> shardEntries(Spec spec) {
        ModelConfig c = spec.config();
        int shardCount = Math.max(1, Math.min(spec.shards(), c.numLayers() + 1));
        List<List<SafetensorsWriter.Entry>> shards = new ArrayList<>();
        for (int s = 0; s < shardCount; s++) {
            shards.add(new ArrayList<>());
        }
        Tensors t = new Tensors(spec);
        long d = c.hiddenSize();
        shards.get(0).add(t.gaussian("model.embed_tokens.weight", INIT_STD, c.vocabSize(), d));
        for (int i = 0; i < c.numLayers(); i++) {
            List<SafetensorsWriter.Entry> shard = shards.get((int) ((long) i * shardCount / c.numLayers()));
            layerEntries(t, c, i, shard);
        }
        List<SafetensorsWriter.Entry> last = shards.get(shardCount - 1);
        last.add(t.norm("model.norm.weight", d));
        if (!c.tieWordEmbeddings()) {
            last.add(t.lmHead(c.vocabSize(), d));
        }
        return shards;
    }

    private static void layerEntries(Tensors t, ModelConfig c, int i, List<SafetensorsWriter.Entry> out) {
        String p = "model.layers." + i + ".";
        long d = c.hiddenSize();
        long f = c.intermediateSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        out.add(t.norm(p + "input_layernorm.weight", d));
        out.add(t.gaussian(p + "self_attn.q_proj.weight", INIT_STD, q, d));
        out.add(t.gaussian(p + "self_attn.k_proj.weight", INIT_STD, kv, d));
        out.add(t.gaussian(p + "self_attn.v_proj.weight", INIT_STD, kv, d));
        out.add(t.gaussian(p + "self_attn.o_proj.weight", INIT_STD, d, q));
        out.add(t.norm(p + "post_attention_layernorm.weight", d));
        out.add(t.gaussian(p + "mlp.gate_proj.weight", INIT_STD, f, d));
        out.add(t.gaussian(p + "mlp.up_proj.weight", INIT_STD, f, d));
        out.add(t.gaussian(p + "mlp.down_proj.weight", INIT_STD, d, f));
        if (c.isRouted(i)) {
            long r = c.routerDim();
            long m = c.adapterDim();
            out.add(t.gaussian(p + "router.router_enc.weight", INIT_STD, r, d));
            out.add(t.constant(p + "router.router_norm.weight", 1.0, r));
            out.add(t.gaussian(p + "router.router_dec.weight", INIT_STD, d, r));
            out.add(t.gaussian(p + "router.router_head.weight", routerHeadStd(c, t.spec.gateSpread()), 1, d));
            out.add(t.gaussian(p + "router_proj.gate_proj.weight", INIT_STD, m, d));
            out.add(t.gaussian(p + "router_proj.down_proj.weight", INIT_STD, m, d));
            out.add(t.gaussian(p + "router_proj.up_proj.weight", INIT_STD, d, m));
        }
    }

    /** logit = head . (dec . tanh(z)) has variance D * s^2 * R * 0.02^2 * E[tanh^2]; solve for s. */
    private static double routerHeadStd(ModelConfig c, double gateSpread) {
        if (gateSpread <= 0) {
            return INIT_STD;
        }
        double perUnit = (double) c.hiddenSize() * c.routerDim() * INIT_STD * INIT_STD * TANH_VARIANCE;
        return gateSpread / Math.sqrt(perUnit);
    }

    private static void writeGenerationConfig(Path dir, ModelConfig config) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode gen = json.createObjectNode();
        gen.put("bos_token_id", config.bosTokenId());
        var eos = gen.putArray("eos_token_id");
        config.eosTokenIds().forEach(eos::add);
        gen.put("do_sample", true);
        gen.put("temperature", 0.6);
        gen.put("top_p", 0.9);
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("generation_config.json").toFile(), gen);
    }

    /** Entry factories whose values depend only on the seed and the tensor's name. */
    private record Tensors(Spec spec) {

        SafetensorsWriter.Entry gaussian(String name, double std, long... shape) {
            return new SafetensorsWriter.Entry(name, shape, () -> {
                Random random = random(name);
                return () -> std * random.nextGaussian();
            });
        }

        /** (V, D) rows N(0, 0.02^2), favoured rows scaled up. */
        SafetensorsWriter.Entry lmHead(long vocab, long d) {
            return new SafetensorsWriter.Entry("lm_head.weight", new long[] {vocab, d}, () -> {
                Random random = random("lm_head.weight");
                long[] i = {0};
                return () -> {
                    boolean favoured = spec.favoured().contains((int) (i[0]++ / d));
                    return INIT_STD * (favoured ? FAVOURED_SCALE : 1) * random.nextGaussian();
                };
            });
        }

        SafetensorsWriter.Entry norm(String name, long size) {
            return new SafetensorsWriter.Entry(name, new long[] {size}, () -> {
                Random random = random(name);
                return () -> 1.0 + NORM_NOISE * random.nextGaussian();
            });
        }

        SafetensorsWriter.Entry constant(String name, double value, long... shape) {
            DoubleSupplier constant = () -> value;
            return new SafetensorsWriter.Entry(name, shape, () -> constant);
        }

        private Random random(String name) {
            return new Random(spec.seed() * 1_000_003L + name.hashCode());
        }
    }
}
