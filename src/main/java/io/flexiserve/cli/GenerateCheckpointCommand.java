package io.flexiserve.cli;

import io.flexiserve.model.ModelConfig;
import io.flexiserve.model.RopeScaling;
import io.flexiserve.model.checkpoint.CheckpointGenerator;
import io.flexiserve.model.checkpoint.CheckpointTensors;
import io.flexiserve.model.checkpoint.TensorDtype;
import io.flexiserve.tokenizer.ByteLevelTokenizerFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code generate-checkpoint}: writes a seeded random FlexiDepth (or plain Llama) checkpoint of any shape. */
@Command(name = "generate-checkpoint", mixinStandardHelpOptions = true,
        description = "Write a seeded random FlexiDepth-Llama checkpoint in Hugging Face layout.")
final class GenerateCheckpointCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, description = "Output directory.")
    Path out;
    @Option(names = "--hidden", defaultValue = "256", description = "hidden_size (default ${DEFAULT-VALUE}).")
    int hidden;
    @Option(names = "--intermediate", defaultValue = "768", description = "intermediate_size (default ${DEFAULT-VALUE}).")
    int intermediate;
    @Option(names = "--layers", defaultValue = "8", description = "num_hidden_layers (default ${DEFAULT-VALUE}).")
    int layers;
    @Option(names = "--heads", defaultValue = "8", description = "num_attention_heads (default ${DEFAULT-VALUE}).")
    int heads;
    @Option(names = "--kv-heads", defaultValue = "4", description = "num_key_value_heads (default ${DEFAULT-VALUE}).")
    int kvHeads;
    @Option(names = "--head-dim", defaultValue = "0", description = "head_dim; 0 means hidden / heads.")
    int headDim;
    @Option(names = "--vocab", defaultValue = "512", description = "vocab_size, at least 512 with the byte tokenizer.")
    int vocab;
    @Option(names = "--max-positions", defaultValue = "4096", description = "max_position_embeddings.")
    int maxPositions;
    @Option(names = "--routed", defaultValue = "second-half",
            description = "Routed layers: 'second-half' (as the 8B release: 16..31 of 32), 'none' (plain Llama), or a list like 4,5,6-7.")
    String routed;
    @Option(names = "--dtype", defaultValue = "F32", description = "Stored dtype: ${COMPLETION-CANDIDATES}.")
    TensorDtype dtype;
    @Option(names = "--seed", defaultValue = "42")
    long seed;
    @Option(names = "--shards", defaultValue = "1", description = "Number of safetensors shards (>1 writes an index).")
    int shards;
    @Option(names = "--gate-spread", defaultValue = "1.5",
            description = "Std of router logits; 0 keeps the spec's initialisation (all gates near 0.5).")
    double gateSpread;
    @Option(names = "--rope-scaling", defaultValue = "none", description = "'none' or 'llama3' (factor 8, as Llama 3.1).")
    String ropeScaling;
    @Option(names = "--tokenizer", defaultValue = "byte", description = "'byte' writes the demo byte-level tokenizer, 'none' writes none.")
    String tokenizer;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<Integer> routedLayers;
        try {
            routedLayers = parseRouted(routed, layers);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--routed: " + e.getMessage());
        }
        if (!List.of("none", "llama3").contains(ropeScaling) || !List.of("byte", "none").contains(tokenizer)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--rope-scaling is none or llama3 and --tokenizer"
                    + " byte or none, not '" + ropeScaling + "' and '" + tokenizer + "'");
        }
        boolean byteTokenizer = tokenizer.equals("byte");
        if (byteTokenizer && vocab < ByteLevelTokenizerFiles.VOCAB_SIZE) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--vocab must be at least 512 with the byte tokenizer");
        }
        RopeScaling scaling = ropeScaling.equals("llama3") ? new RopeScaling(8, 1, 4, 8192) : null;
        ModelConfig config;
        try {
            config = ModelConfig.builder().hidden(hidden).intermediate(intermediate).layers(layers)
                    .heads(heads, kvHeads).headDim(headDim).vocab(vocab).rope(500000.0, scaling).maxPositions(maxPositions)
                    .routed(routedLayers).specialTokens(ByteLevelTokenizerFiles.BOS_ID,
                            List.of(ByteLevelTokenizerFiles.END_OF_TEXT_ID, ByteLevelTokenizerFiles.EOT_ID))
                    .torchDtype(dtype == TensorDtype.F32 ? "float32" : dtype == TensorDtype.F16 ? "float16" : "bfloat16").build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "this shape cannot be built: " + e.getMessage());
        }
        refuseWhatWouldNotLoad(config);
        // a checkpoint written before in this directory must not be read in place of this one
        Files.deleteIfExists(out.resolve(shards > 1 ? CheckpointTensors.SINGLE : CheckpointTensors.INDEX));
        long start = System.nanoTime();
        CheckpointGenerator.write(out, new CheckpointGenerator.Spec(config, dtype, seed, shards, gateSpread));
        if (byteTokenizer) {
            ByteLevelTokenizerFiles.write(out);
        }
        System.out.printf("wrote %s: %d layers (routed %s), hidden %d, vocab %d, %s, in %.1f s%n", out, layers,
                routedLayers, hidden, vocab, dtype, (System.nanoTime() - start) / 1e9);
        return 0;
    }

    /** The loader's checks of config.json, before minutes of writing weights: a shape it would refuse is a usage error. */
    private void refuseWhatWouldNotLoad(ModelConfig config) {
        try {
            config.checked();
        } catch (RuntimeException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "this shape would not load: " + e.getMessage());
        }
    }

    static List<Integer> parseRouted(String spec, int layers) {
        List<Integer> out = new ArrayList<>();
        if (spec.equals("none")) {
            return out;
        }
        if (spec.equals("second-half")) {
            for (int i = layers / 2; i < layers; i++) {
                out.add(i);
            }
            return out;
        }
        for (String part : spec.split(",")) {
            String[] range = part.trim().split("-");
            int from = Integer.parseInt(range[0].trim());
            int to = range.length > 1 ? Integer.parseInt(range[1].trim()) : from;
            if (to < from) {
                throw new IllegalArgumentException("the range " + part.trim() + " runs backwards");
            }
            for (int i = from; i <= to; i++) {
                out.add(i);
            }
        }
        return out;
    }
}
