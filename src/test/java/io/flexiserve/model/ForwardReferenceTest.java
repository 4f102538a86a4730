package io.flexiserve.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DJL forward against {@link NaiveModel}, the equations of docs/model.md written on float arrays.
 * Tolerance: 1e-4 absolute on logits of magnitude ~0.5 (float32 kernels against double accumulation).
 */
class ForwardReferenceTest {

    private static final float TOLERANCE = 1e-4f;
    private static final int[] PROMPT = {5, 17, 42, 8, 77, 3, 60, 11, 29};

    @TempDir
    Path dir;

    @Test
    void plainLlamaMatchesReferenceInPrefillAndDecode() throws Exception {
        TestCheckpoints.write(dir, TestCheckpoints.config(List.of(), null));
        assertPrefillAndDecodeMatch(0.5f);
    }

    @Test
    void flexiDepthMatchesReferenceAtReleaseThreshold() throws Exception {
        TestCheckpoints.write(dir, TestCheckpoints.flexi());
        assertPrefillAndDecodeMatch(0.5f);
    }

    @Test
    void llama3RopeScalingMatchesReference() throws Exception {
        // original context 64 so that the 256-position test range crosses all three frequency bands
        TestCheckpoints.write(dir, TestCheckpoints.config(List.of(3), new RopeScaling(8, 1, 4, 64)));
        assertPrefillAndDecodeMatch(0.5f);
    }

    /**
     * A 2600-token prompt in one chunk: 4 heads x 2600 keys of f32 scores per query exceed {@link Attention#TILE_BYTES}
     * at 1613 queries, so its attention runs in two row tiles, the first over only its own keys.
     */
    @Test
    void aPromptLongEnoughForTiledAttentionMatchesReference() throws Exception {
        ModelConfig c = TestCheckpoints.flexi();
        ModelConfig longContext = new ModelConfig(c.modelType(), c.hiddenSize(), c.intermediateSize(), c.numLayers(),
                c.numHeads(), c.numKvHeads(), c.headDim(), c.vocabSize(), c.rmsNormEps(), c.ropeTheta(), null, 4096, false,
                c.routingLayers(), c.routerReductionFactor(), c.projReductionFactor(), c.bosTokenId(), c.eosTokenIds(),
                c.torchDtype());
        TestCheckpoints.write(dir, longContext);
        int n = 2600;
        assertTrue((long) n * c.numHeads() * n * Float.BYTES > Attention.TILE_BYTES, "the prompt needs more than one tile");
        int[] prompt = new int[n];
        for (int i = 0; i < n; i++) {
            prompt[i] = (i * 37 + 11) % TestCheckpoints.VOCAB;
        }
        NaiveModel.Output expected = new NaiveModel(dir).forward(prompt, 0.5f);
        try (FlexiDepthModel model = ModelLoader.load(dir, ModelOptions.cpu()); KvCache cache = model.newKvCache(n + 1)) {
            ForwardResult result = model.forward(StepBatch.of(new SequenceChunk(0, 0, prompt, 0.5f, true)), cache);
            assertClose(expected.logits(), result.logits()[0], "2600-token prompt");
            for (int row = 0; row < n; row++) {
                assertEquals(expected.layersUsed()[row], result.trace().layersUsed(row), "layers used by row " + row);
            }
        }
    }

    @Test
    void routingDecisionsAndGatesMatchReference() throws Exception {
        TestCheckpoints.write(dir, TestCheckpoints.flexi());
        NaiveModel naive = new NaiveModel(dir);
        NaiveModel.Output expected = naive.forward(PROMPT, 0.5f);
        try (FlexiDepthModel model = ModelLoader.load(dir, ModelOptions.cpu()); KvCache cache = model.newKvCache(64)) {
            RoutingTrace trace = model.forward(StepBatch.of(new SequenceChunk(0, 0, PROMPT, 0.5f, true)), cache).trace();
            int ran = 0;
            for (int row = 0; row < PROMPT.length; row++) {
                assertEquals(expected.layersUsed()[row], trace.layersUsed(row), "layers used by row " + row);
                for (int r = 0; r < 2; r++) {
                    assertEquals(expected.gates()[r][row], trace.gate(r, row), 1e-5, "gate of routed layer " + r + " row " + row);
                    ran += trace.ran(r, row) ? 1 : 0;
                }
            }
            assertTrue(ran > 0 && ran < 2 * PROMPT.length, "the seeded routers run some rows and skip others, ran " + ran);
        }
    }

    @Test
    void thresholdZeroRunsEveryRoutedLayerAndOneSkipsEvery() throws Exception {
        TestCheckpoints.write(dir, TestCheckpoints.flexi());
        NaiveModel naive = new NaiveModel(dir);
        try (FlexiDepthModel model = ModelLoader.load(dir, ModelOptions.cpu())) {
            for (float threshold : new float[] {0f, 1f}) {
                try (KvCache cache = model.newKvCache(64)) {
                    ForwardResult result = model.forward(StepBatch.of(new SequenceChunk(0, 0, PROMPT, threshold, true)), cache);
                    int expectedLayers = threshold == 0f ? 4 : 2;
                    for (int row = 0; row < PROMPT.length; row++) {
                        assertEquals(expectedLayers, result.trace().layersUsed(row), "threshold " + threshold + " row " + row);
                    }
                    assertClose(naive.forward(PROMPT, threshold).logits(), result.logits()[0], "threshold " + threshold);
                }
            }
        }
    }

    @Test
    void skippedTokensWriteKeysThatLaterTokensAttendTo() throws Exception {
        TestCheckpoints.write(dir, TestCheckpoints.config(List.of(1, 2, 3), null));
        NaiveModel naive = new NaiveModel(dir);
        int[] all = Arrays.copyOf(PROMPT, PROMPT.length + 1);
        all[PROMPT.length] = 33;
        float[] thresholds = new float[all.length];
        Arrays.fill(thresholds, 1f);               // the prompt skips every routed layer
        thresholds[PROMPT.length] = 0f;            // the new token runs every routed layer
        NaiveModel.Output expected = naive.forward(all, thresholds);
        try (FlexiDepthModel model = ModelLoader.load(dir, ModelOptions.cpu()); KvCache cache = model.newKvCache(64)) {
            model.forward(StepBatch.of(new SequenceChunk(0, 0, PROMPT, 1f, false)), cache);
            float[] cachedKeys = cache.keys(2, 0, PROMPT.length).toFloatArray(); // routed layer 2, skipped rows
            double[][] naiveKeys = expected.keys()[2];
            for (int t = 0; t < PROMPT.length; t++) {
                for (int i = 0; i < naiveKeys[t].length; i++) {
                    assertEquals(naiveKeys[t][i], cachedKeys[t * naiveKeys[t].length + i], 1e-4, "key of skipped row " + t);
                }
            }
            ForwardResult decode = model.forward(StepBatch.of(new SequenceChunk(0, PROMPT.length, new int[] {33}, 0f, true)), cache);
            assertEquals(4, decode.trace().layersUsed(0));
            assertClose(expected.logits(), decode.logits()[0], "decode attending to skipped rows");
        }
    }

    @Test
    void unroutedLayersArePlainLlamaLayers() throws Exception {
        // The same seed gives the same tensors by name, so layers 0 and 1 of both checkpoints are identical.
        Path plainDir = dir.resolve("plain");
        Path flexiDir = dir.resolve("flexi");
        TestCheckpoints.write(plainDir, TestCheckpoints.config(List.of(), null));
        TestCheckpoints.write(flexiDir, TestCheckpoints.flexi());
        float[] thresholds = new float[PROMPT.length];
        Arrays.fill(thresholds, 0.5f);
        double[] plainHidden = new NaiveModel(plainDir).forward(PROMPT, thresholds, 2).lastHidden();
        StepBatch batch = StepBatch.of(new SequenceChunk(0, 0, PROMPT, 0.5f, false));
        try (FlexiDepthModel flexi = ModelLoader.load(flexiDir, ModelOptions.cpu()); KvCache cache = flexi.newKvCache(64)) {
            float[] hidden = flexi.hiddenAfter(batch, cache, 2);
            for (int i = 0; i < hidden.length; i++) {
                assertEquals(plainHidden[i], hidden[i], 1e-4, "hidden " + i);
            }
        }
    }

    /** Prefill PROMPT in two chunks, then decode three tokens one by one, comparing every step's logits. */
    private void assertPrefillAndDecodeMatch(float threshold) throws Exception {
        NaiveModel naive = new NaiveModel(dir);
        try (FlexiDepthModel model = ModelLoader.load(dir, ModelOptions.cpu()); KvCache cache = model.newKvCache(256)) {
            int split = 4;
            model.forward(StepBatch.of(new SequenceChunk(0, 0, Arrays.copyOf(PROMPT, split), threshold, false)), cache);
            ForwardResult result = model.forward(StepBatch.of(new SequenceChunk(0, split,
                    Arrays.copyOfRange(PROMPT, split, PROMPT.length), threshold, true)), cache);
            int[] seq = PROMPT.clone();
            assertClose(naive.forward(seq, threshold).logits(), result.logits()[0], "prefill");
            for (int step = 0; step < 3; step++) {
                int next = (seq.length * 7 + step) % TestCheckpoints.VOCAB;
                result = model.forward(StepBatch.of(new SequenceChunk(0, seq.length, new int[] {next}, threshold, true)), cache);
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = next;
                assertClose(naive.forward(seq, threshold).logits(), result.logits()[0], "decode step " + step);
            }
            // far positions exercise RoPE at large angles: a 240-token sequence in its own cache rows
            int[] far = new int[240];
            for (int i = 0; i < far.length; i++) {
                far[i] = (i * 13 + 5) % TestCheckpoints.VOCAB;
            }
            ForwardResult farResult = model.forward(StepBatch.of(new SequenceChunk(0, 0, far, threshold, true)), cache);
            assertClose(naive.forward(far, threshold).logits(), farResult.logits()[0], "position 239");
        }
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": vocabulary");
        float worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= TOLERANCE, what + ": max |logit difference| " + worst + " > " + TOLERANCE);
    }
}
