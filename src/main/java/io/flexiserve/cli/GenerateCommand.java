package io.flexiserve.cli;

import io.flexiserve.DemoModel;
import io.flexiserve.engine.Sampler;
import io.flexiserve.engine.SamplingParams;
import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.model.ForwardResult;
import io.flexiserve.model.KvCache;
import io.flexiserve.model.ModelLoader;
import io.flexiserve.model.ModelOptions;
import io.flexiserve.model.SequenceChunk;
import io.flexiserve.model.StepBatch;
import io.flexiserve.tokenizer.ChatMessage;
import io.flexiserve.tokenizer.ChatTemplate;
import io.flexiserve.tokenizer.GenerationConfig;
import io.flexiserve.tokenizer.IncrementalDetokenizer;
import io.flexiserve.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code generate}: one prompt through the model, before (and without) the HTTP service. Streams the text,
 * then prints the layers each generated token used and the timing.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a checkpoint (the demo model by default), printing layers used per token.")
final class GenerateCommand implements Callable<Integer> {

    private static final int PREFILL_CHUNK = 512;

    @Option(names = "--model", description = "Checkpoint directory (default: the demo model under --data-dir).")
    Path model;
    @Option(names = "--data-dir", defaultValue = "${env:FLEXISERVE_DATA_DIR:-${sys:user.home}/.flexiserve}",
            description = "Where the demo model is generated (default ${DEFAULT-VALUE}).")
    Path dataDir;
    @Option(names = "--prompt", required = true, description = "Prompt text.")
    String prompt;
    @Option(names = "--chat", description = "Wrap the prompt as a user message with the checkpoint's chat template.")
    boolean chat;
    @Option(names = "--max-tokens", defaultValue = "32")
    int maxTokens;
    @Option(names = "--temperature", defaultValue = "0", description = "0 is greedy (default).")
    double temperature;
    @Option(names = "--top-p", defaultValue = "1")
    double topP;
    @Option(names = "--top-k", defaultValue = "0")
    int topK;
    @Option(names = "--seed", defaultValue = "0")
    long seed;
    @Option(names = "--threshold", defaultValue = "0.5",
            description = "Routing threshold: a routed layer runs when its gate exceeds it (0 runs all, 1 skips all).")
    float threshold;
    @Option(names = "--dtype", defaultValue = "f32", description = "f32, f16, f16-weights (f16 weights, f32 activations) or mixed.")
    String dtype;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        // the values checked before the model loads (minutes at 8B), as usage errors
        SamplingParams params;
        try {
            params = SamplingParams.of(temperature, topP, topK, 0);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (maxTokens < 1 || prompt.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--max-tokens must be at least 1 and --prompt must not be empty");
        }
        Path dir = model != null ? model : DemoModel.ensure(dataDir);
        PrintStream out = System.out;
        try (Tokenizer tokenizer = Tokenizer.load(dir);
             FlexiDepthModel net = ModelLoader.load(dir, ModelOptions.of(ai.djl.Device.cpu(), dtype, 0, false))) {
            ChatTemplate template = ChatTemplate.loadForServing(dir);
            GenerationConfig generation = GenerationConfig.read(dir, tokenizer, template);
            // as the API encodes them: a rendered chat as it is (the template writes BOS), a plain prompt through the
            // tokenizer's post-processor (which adds it)
            int[] promptIds = chat ? tokenizer.encode(template.render(List.of(new ChatMessage("user", prompt)), true))
                    : tokenizer.encodeWithSpecialTokens(prompt);
            Result result = generate(net, promptIds, params, generation, tokenizer, out);
            out.println();
            out.println("layers per token: " + result.layers);
            double avg = result.layers.stream().mapToInt(Integer::intValue).average().orElse(0);
            out.printf("prompt %d tokens, generated %d tokens, avg layers %.2f of %d, prefill %.1f ms, decode %.1f tokens/s%n",
                    promptIds.length, result.layers.size(), avg, net.config().numLayers(), result.prefillMs,
                    result.decodeTokensPerSecond());
        }
        return 0;
    }

    private Result generate(FlexiDepthModel net, int[] promptIds, SamplingParams params, GenerationConfig generation,
                            Tokenizer tokenizer, PrintStream out) {
        int capacity = Math.min(net.maxPositions(), promptIds.length + maxTokens);
        Random random = new Random(seed);
        IncrementalDetokenizer detokenizer = new IncrementalDetokenizer(tokenizer);
        List<Integer> layers = new ArrayList<>();
        try (KvCache cache = net.newKvCache(capacity)) {
            long start = System.nanoTime();
            ForwardResult step = null;
            for (int from = 0; from < promptIds.length; from += PREFILL_CHUNK) {
                int[] chunk = Arrays.copyOfRange(promptIds, from, Math.min(promptIds.length, from + PREFILL_CHUNK));
                boolean last = from + chunk.length == promptIds.length;
                step = net.forward(StepBatch.of(new SequenceChunk(0, from, chunk, threshold, last)), cache);
            }
            double prefillMs = (System.nanoTime() - start) / 1e6;
            long decodeStart = System.nanoTime();
            int position = promptIds.length;
            while (layers.size() < maxTokens && position < capacity) {
                int token = Sampler.sample(step.logits()[0], params, random);
                layers.add(step.trace().layersUsed(step.trace().rows() - 1)); // the row that produced it
                if (generation.eosTokenIds().contains(token)) {
                    break;
                }
                out.print(detokenizer.add(token));
                out.flush();
                if (layers.size() == maxTokens || position + 1 > capacity - 1) {
                    break;
                }
                step = net.forward(StepBatch.of(new SequenceChunk(0, position++, new int[] {token}, threshold, true)), cache);
            }
            out.print(detokenizer.flush());
            return new Result(layers, prefillMs, (System.nanoTime() - decodeStart) / 1e9);
        }
    }

    /** Layers used by each generated token, and timing. */
    private record Result(List<Integer> layers, double prefillMs, double decodeSeconds) {
        double decodeTokensPerSecond() {
            return decodeSeconds > 0 ? (layers.size() - 1) / decodeSeconds : 0;
        }
    }
}
