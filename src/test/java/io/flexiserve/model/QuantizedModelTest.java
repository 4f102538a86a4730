package io.flexiserve.model;

import ai.djl.Device;
import io.flexiserve.model.cpu.ShortLivedThread;
import io.flexiserve.model.cpu.VectorGemm;
import io.flexiserve.model.cpu.WeightFormat;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A whole model loaded as {@code q8} and {@code q4}: what is quantized, how far it moves the logits, batching. */
class QuantizedModelTest {

    private static final int[] PROMPT = {3, 14, 15, 92, 65, 35, 89, 79};
    private static final int[] DECODED = {32, 38, 46, 26, 43, 38};

    @TempDir
    Path dir;
    private Path ckpt;

    @BeforeEach
    void checkpoint() throws Exception {
        assumeTrue(VectorGemm.AVAILABLE, "the Java kernels are needed");
        ckpt = TestCheckpoints.write(dir, TestCheckpoints.flexi());
    }

    private FlexiDepthModel load(String dtype) throws Exception {
        return ShortLivedThread.call("load", () -> ModelLoader.load(ckpt, ModelOptions.of(Device.cpu(), dtype, 0, false)));
    }

    /** The projections and the LM head take the format; routers and adapters are f32; decode runs in Java. */
    @Test
    void projectionsAndTheHeadAreQuantizedAndDecodeRunsInJava() throws Exception {
        for (String dtype : new String[] {"q8", "q4"}) {
            WeightFormat format = dtype.equals("q8") ? WeightFormat.Q8 : WeightFormat.Q4;
            try (FlexiDepthModel model = load(dtype)) {
                assertTrue(model.hasJavaPath(), dtype);
                assertEquals(format, model.lmHead().packedWeight().format(), dtype + " LM head");
                for (DecoderLayer layer : model.layers()) {
                    for (Linear l : new Linear[] {layer.selfAttn.qProj, layer.selfAttn.kProj, layer.selfAttn.vProj,
                        layer.selfAttn.oProj, layer.mlp.gate, layer.mlp.value, layer.mlp.out}) {
                        assertEquals(format, l.packedWeight().format(), dtype + " projection");
                        assertEquals(1, l.stored().size(), "the quantized form is the only copy");
                    }
                    if (layer.isRouted()) {
                        for (Linear l : new Linear[] {layer.router.routerEnc, layer.router.routerDec,
                            layer.router.routerHead, layer.adapter.gate, layer.adapter.value, layer.adapter.out}) {
                            assertEquals(WeightFormat.F32, l.packedWeight().format(), dtype + " routers and adapters");
                        }
                    }
                }
            }
        }
    }

    /**
     * Prompt and decode steps fed the same tokens: q8's logits stay within 2% of {@code mixed}'s (its f16 weights),
     * q4's within what 4 bits allow on this tiny model (hidden 64: some 30%, a routing decision flipping with it), q8
     * always closer. (BENCHMARKS.md has the figures on the ~1.5B shape.)
     */
    @Test
    void logitsStayNearTheF16ModelsEightBitsCloserThanFour() throws Exception {
        float[][] reference = logits("mixed");
        float[][] q8 = logits("q8");
        float[][] q4 = logits("q4");
        for (int s = 0; s < reference.length; s++) {
            double e8 = relativeError(q8[s], reference[s]);
            double e4 = relativeError(q4[s], reference[s]);
            assertTrue(e8 < 0.02, "q8 step " + s + ": relative error " + e8);
            assertTrue(e4 < 0.5, "q4 step " + s + ": relative error " + e4);
            assertTrue(e8 < e4, "step " + s + ": q8 " + e8 + " vs q4 " + e4);
            assertTrue(e8 > 0, "q8 changes the weights, and so the logits");
        }
    }

    /** Two sequences decoded in one step get the bits each gets alone: the quantized kernels batch exactly. */
    @Test
    void aDecodeRowHasTheSameLogitsAloneAndBatched() throws Exception {
        try (FlexiDepthModel model = load("q8"); KvCache together = model.newKvCache(64); KvCache alone = model.newKvCache(64)) {
            for (int s = 0; s < 2; s++) {
                SequenceChunk prompt = new SequenceChunk(32 * s, 0, s == 0 ? PROMPT : DECODED, 0.5f, true);
                model.forward(StepBatch.of(prompt), together);
                model.forward(StepBatch.of(prompt), alone);
            }
            SequenceChunk a = new SequenceChunk(0, PROMPT.length, new int[] {7}, 0.5f, true);
            SequenceChunk b = new SequenceChunk(32, DECODED.length, new int[] {9}, 0.5f, true);
            ForwardResult both = model.forward(StepBatch.of(a, b), together);
            assertArrayEquals(model.forward(StepBatch.of(a), alone).logits()[0], both.logits()[0]);
            assertArrayEquals(model.forward(StepBatch.of(b), alone).logits()[0], both.logits()[1]);
        }
    }

    @Test
    void quantizedFormatsNeedTheJavaKernels() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ModelOptions(Device.cpu(),
                ai.djl.ndarray.types.DataType.FLOAT32, ai.djl.ndarray.types.DataType.FLOAT16, 0, false, 0, WeightFormat.Q8));
        assertTrue(e.getMessage().contains("q8 weights need the Java kernels"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ModelOptions.of(Device.cpu(), "q3", 0, false));
        IllegalArgumentException f32 = assertThrows(IllegalArgumentException.class, () -> new ModelOptions(Device.cpu(),
                ai.djl.ndarray.types.DataType.FLOAT32, ai.djl.ndarray.types.DataType.FLOAT16, 0, false, 64,
                WeightFormat.F32));
        assertTrue(f32.getMessage().contains("not a packing for projections"), "the routers' format: " + f32.getMessage());
    }

    /** The prompt's logits, then each decode step's, all fed the same tokens. */
    private float[][] logits(String dtype) throws Exception {
        try (FlexiDepthModel model = load(dtype); KvCache cache = model.newKvCache(64)) {
            float[][] out = new float[DECODED.length + 1][];
            out[0] = model.forward(StepBatch.of(new SequenceChunk(0, 0, PROMPT, 0.5f, true)), cache).logits()[0];
            for (int s = 0; s < DECODED.length; s++) {
                out[s + 1] = model.forward(StepBatch.of(new SequenceChunk(0, PROMPT.length + s, new int[] {DECODED[s]},
                        0.5f, true)), cache).logits()[0];
            }
            return out;
        }
    }

    private static double relativeError(float[] got, float[] want) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < want.length; i++) {
            diff += (got[i] - want[i]) * (double) (got[i] - want[i]);
            norm += want[i] * (double) want[i];
        }
        return Math.sqrt(diff / norm);
    }
}
