package io.flexiserve.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.flexiserve.model.FlexiDepthModel;
import io.flexiserve.model.ModelConfig;
import io.flexiserve.model.ModelLoader;
import io.flexiserve.model.ModelOptions;
import io.flexiserve.model.checkpoint.CheckpointGenerator;
import io.flexiserve.model.checkpoint.TensorDtype;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The paged KV cache on the reference checkpoint (seed 7) as {@code mixed}: prompts on the tensor path, decode steps
 * in Java. A prefix found in the cache gives exactly the tokens and layers that recomputing it gives, never across
 * thresholds, and sequences preempted for blocks finish as they would alone; every block comes back.
 */
class PrefixCacheTest {

    @TempDir
    static Path dir;
    private static FlexiDepthModel model;

    @BeforeAll
    static void load() throws Exception {
        ModelConfig config = ModelConfig.builder().hidden(64).intermediate(128).layers(4).heads(4, 2).headDim(16).vocab(96)
                .rope(10000.0, null).maxPositions(256).routed(List.of(2, 3)).specialTokens(1, List.of(2)).build();
        CheckpointGenerator.write(dir, new CheckpointGenerator.Spec(config, TensorDtype.F32, 7, 1, 1.5));
        model = ModelLoader.load(dir, ModelOptions.of(Device.cpu(), "mixed", 0, false));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** A finished generation: its tokens, the layers each used, and its stats. */
    record Run(List<Integer> tokens, List<Integer> layers, SequenceStats stats) {
    }

    private static EngineTest.Recorder submit(Engine engine, int[] prompt, float threshold, int maxTokens) {
        EngineTest.Recorder sink = new EngineTest.Recorder(-1); // never stops early
        engine.submit(new GenerationRequest(prompt, SamplingParams.GREEDY, maxTokens, Set.of(), threshold, -1), sink);
        return sink;
    }

    private static Run finished(EngineTest.Recorder sink) throws Exception {
        sink.await();
        return new Run(sink.tokens, sink.layers, sink.stats);
    }

    private static Run generate(Engine engine, int[] prompt, float threshold, int maxTokens) throws Exception {
        return finished(submit(engine, prompt, threshold, maxTokens));
    }

    private static int[] prompt(int length, int seed) {
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) {
            ids[i] = 3 + (i * 37 + seed * 11) % 90;
        }
        return ids;
    }

    private static Engine engine(String name, int kvTokens, boolean prefixCaching) {
        return new Engine(model, new EngineConfig(4, 64, 16, kvTokens, 256, 16, prefixCaching), name);
    }

    @Test
    void aCachedPrefixGivesTheTokensAndLayersOfRecomputingItAndNeverCrossesThresholds() throws Exception {
        int[] prompt = prompt(70, 1);
        try (Engine off = engine("recompute", 2048, false); Engine on = engine("cached", 2048, true)) {
            Run reference = generate(off, prompt, 0.5f, 12);
            Run first = generate(on, prompt, 0.5f, 12);
            Run second = generate(on, prompt, 0.5f, 12);
            assertEquals(0, first.stats().cachedPromptTokens());
            assertEquals(64, second.stats().cachedPromptTokens(), "four full blocks of 16; the last token is computed");
            for (Run run : List.of(first, second)) {
                assertEquals(reference.tokens(), run.tokens());
                assertEquals(reference.layers(), run.layers(), "and every token used the same layers");
            }
            Run otherThreshold = generate(on, prompt, 0.7f, 12);
            assertEquals(0, otherThreshold.stats().cachedPromptTokens(), "another threshold shares nothing");
            assertEquals(generate(off, prompt, 0.7f, 12).tokens(), otherThreshold.tokens());
            int[] branch = Arrays.copyOf(prompt, 90);
            branch[50] = 5; // the fourth block differs: three are shared
            Run branched = generate(on, branch, 0.5f, 8);
            assertEquals(48, branched.stats().cachedPromptTokens());
            Run recomputed = generate(off, branch, 0.5f, 8);
            assertEquals(recomputed.tokens(), branched.tokens(), "a prompt that branches off a cached one");
            assertEquals(recomputed.layers(), branched.layers());
            awaitIdle(on);
            EngineStats stats = on.stats();
            assertEquals(0, stats.blocksInUse(), "every block returned: " + stats);
            assertTrue(stats.blocksCached() >= 7, "the prompts' full blocks stay cached: " + stats);
            assertEquals(64 + 48, stats.prefixHitTokens());
        }
    }

    @Test
    void sequencesPreemptedForBlocksFinishAsTheyWouldAlone() throws Exception {
        List<int[]> prompts = List.of(prompt(20, 2), prompt(20, 3), prompt(18, 4), prompt(22, 5));
        List<Run> alone = new ArrayList<>();
        try (Engine big = engine("alone", 2048, false)) {
            for (int[] p : prompts) {
                alone.add(generate(big, p, 0.5f, 40));
            }
        }
        java.util.concurrent.atomic.AtomicLong promptTokens = new java.util.concurrent.atomic.AtomicLong();
        EngineListener counting = new EngineListener() {
            @Override
            public void onStep(StepStats stats) {
                promptTokens.addAndGet(stats.promptTokens());
            }

            @Override
            public void onFinished(FinishReason reason, SequenceStats stats) {
            }
        };
        // six blocks: not enough for four sequences of 60 tokens
        try (Engine small = new Engine(model, new EngineConfig(4, 64, 16, 96, 256, 16, true), "tight", counting)) {
            List<EngineTest.Recorder> sinks = new ArrayList<>();
            for (int[] p : prompts) {
                sinks.add(submit(small, p, 0.5f, 40));
            }
            for (int i = 0; i < prompts.size(); i++) {
                Run run = finished(sinks.get(i));
                assertEquals(alone.get(i).tokens(), run.tokens(), "sequence " + i);
                assertEquals(alone.get(i).layers(), run.layers(), "sequence " + i);
            }
            awaitIdle(small);
            assertTrue(small.stats().preemptions() > 0, "blocks ran out: " + small.stats());
            assertEquals(0, small.stats().blocksInUse());
            assertEquals(20 + 20 + 18 + 22, promptTokens.get(), "each prompt token counted once, recomputed or not");
        }
    }

    private static void awaitIdle(Engine engine) throws InterruptedException {
        assertTrue(engine.awaitIdle(System.nanoTime() + 60_000_000_000L));
    }
}
