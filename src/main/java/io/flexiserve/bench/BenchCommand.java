package io.flexiserve.bench;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.flexiserve.DemoModel;
import io.flexiserve.MemoryPlan;
import io.flexiserve.model.DecodeBytes;
import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.model.ModelConfig;
import io.flexiserve.model.ModelLoader;
import io.flexiserve.model.ModelOptions;
import io.flexiserve.model.checkpoint.CheckpointGenerator;
import io.flexiserve.model.checkpoint.CheckpointTensors;
import io.flexiserve.model.checkpoint.TensorDtype;
import io.flexiserve.model.cpu.NativeKernels;
import io.flexiserve.model.cpu.ShortLivedThread;
import io.flexiserve.model.cpu.WeightFormat;
import io.flexiserve.tokenizer.Tokenizer;
import io.flexiserve.tokenizer.ByteLevelTokenizerFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench}: one run that measures memory bandwidth and the batch-1 roofline, batch-1 decode at routing
 * thresholds 0, 0.5 and 1, serving throughput and latency through the HTTP API at several concurrencies, and prefill
 * through the API (tokens/s and memory growth by prompt length, time to first token under concurrent prompts), then
 * prints one JSON report with the ratios BENCHMARKS.md tracks.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark decode speed, the skip speed-up and serving throughput; prints a JSON report.")
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", description = "Checkpoint directory; default: generate the --shape preset.")
    Path model;
    @Option(names = "--shape", defaultValue = "1b",
            description = "Preset when --model is absent: '1b', '8b' (the release's shape in bf16: 16.5 GB, generated"
                    + " once into --cache-dir, about 5 minutes) or 'demo'.")
    String shape;
    @Option(names = "--cache-dir", defaultValue = "${sys:java.io.tmpdir}/flexiserve-bench",
            description = "Where generated preset checkpoints are kept between runs.")
    Path cacheDir;
    @Option(names = "--packed-cache",
            description = "Load through a packed-weight cache here, as the service does (the first run writes its"
                    + " entry, later runs map it: their weights are file pages, as a restarted service's are); the"
                    + " service started for --prefill and the HTTP levels uses it too. Default: pack in memory, and"
                    + " the service in a temporary directory.")
    Path packedCache;
    @Option(names = "--dtype", defaultValue = "f32",
            description = "f32, f16, f16-weights, mixed (f16 packed for the Java kernels), q8, q4 or auto (what a service"
                    + " started now with nothing configured would pick here).")
    String dtype;
    @Option(names = "--tokens", defaultValue = "48", description = "Tokens generated per sequence.")
    int tokens;
    @Option(names = "--rounds", defaultValue = "3",
            description = "Batch-1 decode rounds; the thresholds alternate within each and the best round counts.")
    int rounds;
    @Option(names = "--concurrency", defaultValue = "1,4,16", split = ",", description = "HTTP concurrency levels.")
    List<Integer> concurrency;
    @Option(names = "--no-http", description = "Skip the HTTP part.")
    boolean noHttp;
    @Option(names = "--port", defaultValue = "18090")
    int port;
    @Option(names = "--prefill", defaultValue = "512,2000,4000", split = ",",
            description = "Prompt lengths prefilled one at a time through the API (tokens/s, RSS growth).")
    List<Integer> prefill;
    @Option(names = "--prefill-streams", defaultValue = "1,4,16", split = ",",
            description = "Numbers of --prefill-stream-tokens prompts sent at once (time to first token).")
    List<Integer> prefillStreams;
    @Option(names = "--prefill-stream-tokens", defaultValue = "1000")
    int prefillStreamTokens;
    @Option(names = "--prefill-threshold", defaultValue = "0",
            description = "Routing threshold of the prefill runs (0: full depth, the work a plain Llama does).")
    float prefillThreshold;
    @Option(names = "--no-prefill", description = "Skip the prefill part.")
    boolean noPrefill;
    @Option(names = "--quality", split = ",",
            description = "Instead of the speed runs: compare these dtypes (e.g. q8,q4) with --dtype on one prompt"
                    + " (logit error, greedy agreement, routing agreement) and print that report.")
    List<String> quality;
    @Option(names = "--structured", split = ",",
            description = "Instead of the speed runs: decode through the engine with and without a JSON Schema at these"
                    + " numbers of sequences (e.g. 1,16): tokens/s and the constraint's time per token.")
    List<Integer> structured;
    @Option(names = "--prefix",
            description = "Instead of the speed runs: the prefix cache through the API: time to first token of a follow-up"
                    + " sharing a --prefix-tokens system prompt (cold and warm), an 8-turn chat's computed prompt tokens,"
                    + " and 16 streams sharing a prefix against 16 that do not.")
    boolean prefix;
    @Option(names = "--prefix-tokens", defaultValue = "1500")
    int prefixTokens;
    @Option(names = "--tokenizer",
            description = "With --structured: the directory of the tokenizer.json whose vocabulary is masked (default: the"
                    + " checkpoint's; generated checkpoints carry a 512-token byte-level one, the Llama 3 one has 128k).")
    Path tokenizerDir;
    @Option(names = "--kernels", split = ",",
            description = "Time the Java kernels alone on a cold weight in these formats (f16, q8, q4, f32): one row's"
                    + " bytes a second, 4 and 16 rows' GFLOP/s. No checkpoint is loaded.")
    List<String> kernels;
    @Option(names = "--kernel-shape", defaultValue = "4096x14336",
            description = "The weight --kernels multiplies, out x in (default: the release's MLP down projection).")
    String kernelShape;
    @Option(names = "--kernel-passes", defaultValue = "5")
    int kernelPasses;
    @Option(names = "--kernel-cached",
            description = "Multiply one copy of the weight over and over, from cache: the kernels' own speed, memory"
                    + " left out (with a --kernel-shape that fits the cores' L2, such as 128x8192, and many passes).")
    boolean kernelCached;
    @Option(names = "--quality-prompt", defaultValue = "512")
    int qualityPrompt;
    @Option(names = "--quality-steps", defaultValue = "64")
    int qualitySteps;
    @Option(names = "--quality-threshold", defaultValue = "0.5")
    float qualityThreshold;

    @Override
    public Integer call() throws Exception {
        if (rounds < 1 || tokens < 2) {
            System.err.println("--rounds must be at least 1 and --tokens at least 2");
            return 2;
        }
        if (kernels != null && !kernels.isEmpty()) {
            List<WeightFormat> formats = new ArrayList<>();
            for (String k : kernels) {
                WeightFormat format = Arrays.stream(WeightFormat.values()).filter(f -> f.label().equals(k)).findFirst()
                        .orElse(null);
                if (format == null) {
                    System.err.println("--kernels takes f32, f16, q8, q4, not " + k);
                    return 2;
                }
                formats.add(format);
            }
            String[] shape = kernelShape.split("x");
            if (shape.length != 2 || !shape[0].matches("[1-9][0-9]{0,5}") || !shape[1].matches("[1-9][0-9]{0,5}")
                    || Long.parseLong(shape[0]) * Long.parseLong(shape[1]) > 1L << 28) {
                System.err.println("--kernel-shape is OUTxIN of at most 2^28 weights, e.g. 4096x14336, not "
                        + kernelShape);
                return 2;
            }
            if (kernelPasses < 1) {
                System.err.println("--kernel-passes must be at least 1");
                return 2;
            }
            Map<String, Object> report = ShortLivedThread.call("kernels", () -> new KernelBench(
                    Integer.parseInt(shape[0]), Integer.parseInt(shape[1]), kernelPasses, kernelCached).run(formats));
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
            return 0;
        }
        Path dir = model != null ? model : preset();
        if (dtype.equals("auto")) { // what a service started now with nothing configured would serve, and its key
            MemoryPlan.AutoChoice choice = MemoryPlan.resolveAutoUnconfigured(ModelConfig.read(dir),
                    ModelOptions.of(Device.cpu(), dtype, 0, false));
            System.err.println("dtype auto is " + choice.dtype() + " on this CPU: " + choice.reason());
            dtype = choice.dtype();
        }
        if (quality != null && !quality.isEmpty()) {
            Map<String, Object> report = new QualityBench(dir, qualityPrompt, qualitySteps, qualityThreshold)
                    .compare(dtype, quality.toArray(String[]::new));
            report.put("checkpoint", dir.toString());
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
            return 0;
        }
        ModelOptions options = ModelOptions.of(Device.cpu(), dtype, 0, false);
        if (structured != null && !structured.isEmpty()) {
            return structured(dir, options);
        }
        if (prefix) {
            return prefix(dir);
        }
        Map<String, Object> report = new LinkedHashMap<>();
        ModelConfig config = ModelConfig.read(dir);
        report.put("checkpoint", dir.toString());
        report.put("dtype", dtype);
        report.put("shape", Map.of("layers", config.numLayers(), "hidden", config.hiddenSize(),
                "intermediate", config.intermediateSize(), "vocab", config.vocabSize(), "routed_layers", config.routingLayers()));

        // Bandwidth is measured before and after each decode round and the roofline, an upper bound, takes the
        // best reading of either reader. Some hosts' memory reads at two speeds by allocation (BENCHMARKS.md, "The
        // harness"), so every measurement is reported. libtorch work runs on threads that end with it
        // (ShortLivedThread).
        List<Bandwidth.Measurement> bandwidths = new ArrayList<>(List.of(ShortLivedThread.call("bandwidth",
                Bandwidth::measure)));
        Runnable remeasure = () -> bandwidths.add(ShortLivedThread.call("bandwidth", Bandwidth::measure));
        DecodeBytes bytes = options.javaKernels()
                ? new DecodeBytes(config, options.packing().bytesPerWeight(), Float.BYTES) // routers f32 (ModelLoader)
                : new DecodeBytes(config, options.weightDtype().getNumOfBytes());

        Map<String, Object> decode = new LinkedHashMap<>();
        Map<String, Object> batched = new LinkedHashMap<>();
        int widest = widestConcurrency();
        long loadStart = System.nanoTime();
        try (FlexiDepthModel net = ShortLivedThread.call("loader", () -> packedCache == null
                ? ModelLoader.load(dir, options)
                : ModelLoader.load(dir, options, progress -> { }, packedCache, dtype))) {
            report.put("load_seconds", round((System.nanoTime() - loadStart) / 1e9));
            if (packedCache != null) {
                report.put("packed_cache", packedCache.toString());
            }
            report.put("resident_after_load_gb", round(MemoryPlan.residentBytes() / 1e9));
            System.err.printf("loaded as %s in %.1f s, resident %.2f GB%n", dtype, (System.nanoTime() - loadStart) / 1e9,
                    MemoryPlan.residentBytes() / 1e9);
            DecodeBench bench = new DecodeBench(net, tokens);
            Map<Float, DecodeBench.Result> results = bench.batch1(new float[] {0f, 0.5f, 1f}, rounds, remeasure);
            for (Map.Entry<Float, DecodeBench.Result> e : results.entrySet()) {
                float t = e.getKey();
                DecodeBench.Result r = e.getValue();
                System.err.printf("decode batch 1, threshold %.1f: %.2f tokens/s, %.2f layers/token (best of %d)%n", t,
                        r.tokensPerSecond(), r.avgLayers(), rounds);
                int routed = config.routingLayers().size();
                double skipped = routed == 0 ? 0 : 1 - (r.avgLayers() - config.unroutedLayers()) / routed;
                decode.put("threshold_" + t, Map.of("tokens_s", round(r.tokensPerSecond()), "avg_layers", round(r.avgLayers()),
                        "routed_skip_fraction", round(skipped)));
            }
            if (widest > 1) {
                Map<Float, DecodeBench.Result> engine = bench.batched(widest, new float[] {0f, 1f}, rounds);
                for (Map.Entry<Float, DecodeBench.Result> e : engine.entrySet()) {
                    System.err.printf("engine, %d sequences at once, threshold %.1f: %.2f tokens/s (best of %d)%n",
                            widest, e.getKey(), e.getValue().tokensPerSecond(), rounds);
                    batched.put("threshold_" + e.getKey(), Map.of("tokens_s", round(e.getValue().tokensPerSecond())));
                }
            }
        }
        double bandwidth = bandwidths.stream().mapToDouble(Bandwidth.Measurement::best).max().orElseThrow();
        double roofline = bandwidth / bytes.perToken(1);
        report.put("kernels", NativeKernels.describe());
        report.put("memory_bandwidth_gb_s", round(bandwidth / 1e9));
        report.put("memory_bandwidth_libtorch_sum_gb_s", bandwidths.stream().map(b -> round(b.libtorch() / 1e9)).toList());
        report.put("memory_bandwidth_java_read_gb_s", bandwidths.stream().map(b -> round(b.java() / 1e9)).toList());
        report.put("bytes_per_token_all_run_mb", round(bytes.perToken(1) / 1e6));
        report.put("bytes_per_token_all_skip_mb", round(bytes.perToken(0) / 1e6));
        report.put("byte_ratio_skip_all", round(bytes.skipAllRatio()));
        report.put("roofline_tokens_s", round(roofline));
        report.put("resident_peak_gb", round(MemoryPlan.peakResidentBytes() / 1e9));
        report.put("decode_batch1", decode);
        report.put("decode_batch1_rounds", rounds);
        if (!batched.isEmpty()) {
            report.put("decode_engine_" + widest + "_sequences", batched);
        }
        double t0 = tokensPerSecond(decode, "threshold_0.0");
        double t1 = tokensPerSecond(decode, "threshold_1.0");
        Map<String, Object> ratios = new LinkedHashMap<>();
        ratios.put("skip_all_speedup", round(t1 / t0));
        ratios.put("skip_all_speedup_over_byte_ratio", round(t1 / t0 / bytes.skipAllRatio()));
        ratios.put("full_depth_over_roofline", round(t0 / roofline));
        if (!noHttp || !noPrefill) {
            try (HttpBench service = new HttpBench(runnerJar(), dir, dtype, port, packedCache)) {
                if (!noHttp) {
                    List<HttpBench.Level> levels = http(service);
                    report.put("http", levels);
                    ratios.putAll(httpRatios(levels));
                }
                if (!noPrefill) {
                    report.put("prefill", prefill(new PrefillBench(service, config.vocabSize())));
                }
            }
        }
        report.put("ratios", ratios);
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
        return 0;
    }

    private int prefix(Path dir) throws Exception {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("checkpoint", dir.toString());
        report.put("dtype", dtype);
        try (HttpBench service = new HttpBench(runnerJar(), dir, dtype, port)) {
            PrefixBench bench = new PrefixBench(service);
            report.put("follow_up", bench.followUp(prefixTokens, 3));
            System.err.println("follow-up: " + report.get("follow_up"));
            report.put("chat", bench.chat(8, 200, 40, 40));
            System.err.println("chat: " + report.get("chat"));
            report.put("shared_prefix", bench.sharedPrefix(widestConcurrency(), 1000, tokens));
            System.err.println("shared prefix: " + report.get("shared_prefix"));
        }
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
        return 0;
    }

    private int structured(Path dir, ModelOptions options) throws Exception {
        Map<String, Object> report;
        try (FlexiDepthModel net = ShortLivedThread.call("loader", () -> ModelLoader.load(dir, options));
             Tokenizer tokenizer = Tokenizer.load(tokenizerDir != null ? tokenizerDir : dir)) {
            report = new StructuredBench(net, tokenizer, tokens, rounds)
                    .run(structured.stream().mapToInt(Integer::intValue).toArray());
        }
        report.put("checkpoint", dir.toString());
        report.put("dtype", dtype);
        report.put("tokenizer", (tokenizerDir != null ? tokenizerDir : dir).toString());
        report.put("tokens_per_sequence_limit", tokens);
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
        return 0;
    }

    private List<HttpBench.Level> http(HttpBench bench) throws Exception {
        List<HttpBench.Level> levels = new ArrayList<>();
        bench.warmUp(widestConcurrency(), tokens);
        for (int c : concurrency) {
            for (float t : new float[] {0f, 1f}) { // side by side, so that drift between levels spares their ratio
                HttpBench.Level level = bench.run(c, t, tokens);
                System.err.println("http: " + level);
                levels.add(level);
            }
        }
        return levels;
    }

    /** Each prompt length alone (tokens/s, RSS growth), then prompts sent at once (time to first token). */
    private Map<String, Object> prefill(PrefillBench bench) throws Exception {
        bench.prompt(Math.min(256, prefill.stream().mapToInt(Integer::intValue).min().orElse(256)), prefillThreshold); // warm-up
        List<PrefillBench.Prompt> prompts = new ArrayList<>();
        for (int n : prefill) {
            PrefillBench.Prompt p = bench.prompt(n, prefillThreshold);
            System.err.println("prefill: " + p);
            prompts.add(p);
        }
        List<PrefillBench.Concurrent> concurrent = new ArrayList<>();
        for (int k : prefillStreams) {
            PrefillBench.Concurrent c = bench.concurrent(k, prefillStreamTokens, prefillThreshold);
            System.err.println("prefill: " + c);
            concurrent.add(c);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("prompts", prompts);
        out.put("concurrent_prompts", concurrent);
        return out;
    }

    /** Throughput at the highest concurrency over one stream, and adaptive over full depth at each level. */
    private Map<String, Object> httpRatios(List<HttpBench.Level> levels) {
        Map<String, Object> out = new LinkedHashMap<>();
        int max = widestConcurrency();
        out.put("throughput_" + max + "_over_1", round(throughput(levels, max, 0f) / throughput(levels, 1, 0f)));
        for (int c : concurrency) {
            out.put("skip_all_over_full_depth_at_" + c, round(throughput(levels, c, 1f) / throughput(levels, c, 0f)));
        }
        return out;
    }

    private int widestConcurrency() {
        return concurrency.stream().mapToInt(Integer::intValue).max().orElse(1);
    }

    private static double throughput(List<HttpBench.Level> levels, int concurrency, float threshold) {
        return levels.stream().filter(l -> l.concurrency() == concurrency && l.threshold() == threshold)
                .mapToDouble(HttpBench.Level::tokensPerSecond).findFirst().orElse(Double.NaN);
    }

    @SuppressWarnings("unchecked")
    private static double tokensPerSecond(Map<String, Object> decode, String key) {
        return ((Number) ((Map<String, Object>) decode.get(key)).get("tokens_s")).doubleValue();
    }

    /**
     * The ~1.5B shape (16 layers, hidden 2048, MLP 8192, layers 8-15 routed, f32), the release's shape
     * (FlexiDepth-Llama-3-8B: 32 layers, hidden 4096, MLP 14336, layers 16-31 routed, bf16 in four shards), or the
     * demo model.
     */
    private Path preset() throws Exception {
        if (shape.equals("demo")) {
            return DemoModel.ensure(cacheDir);
        }
        boolean release = shape.equals("8b");
        if (!release && !shape.equals("1b")) {
            throw new IllegalArgumentException("--shape must be 1b, 8b or demo");
        }
        Path dir = cacheDir.resolve(release ? "flexidepth-8b-bf16" : "flexidepth-1b");
        // the single file, or the shards' index, is written last: its presence means a whole checkpoint
        if (!Files.exists(dir.resolve(release ? CheckpointTensors.INDEX : CheckpointTensors.SINGLE))) {
            ModelConfig config = release ? ModelConfig.release()
                    : ModelConfig.builder().hidden(2048).intermediate(8192).layers(16).heads(32, 8).headDim(64)
                            .maxPositions(4096).routed(IntStream.range(8, 16).boxed().toList()).build();
            System.err.println("generating " + dir + (release ? " (16.5 GB, about 5 minutes)" : " (about a minute)"));
            CheckpointGenerator.write(dir, new CheckpointGenerator.Spec(config, release ? TensorDtype.BF16 : TensorDtype.F32,
                    42, release ? 4 : 1, 1.5));
        }
        if (!Files.exists(dir.resolve("tokenizer.json"))) {
            ByteLevelTokenizerFiles.write(dir); // the service needs a tokenizer; token-id prompts need no more
        }
        return dir;
    }

    /** quarkus-app/quarkus-run.jar, found from where this class was loaded (quarkus-app/app/*.jar). */
    private static Path runnerJar() throws Exception {
        Path self = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        for (Path p = self; p != null; p = p.getParent()) {
            Path runner = p.resolve("quarkus-run.jar");
            if (Files.exists(runner)) {
                return runner;
            }
        }
        Path packaged = Path.of("target/quarkus-app/quarkus-run.jar");
        if (Files.exists(packaged)) {
            return packaged;
        }
        throw new IllegalStateException("cannot find quarkus-run.jar; run mvn package first");
    }

    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
