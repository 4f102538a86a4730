package io.flexiserve.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.flexiserve.engine.Sampler;
import io.flexiserve.model.checkpoint.SafetensorsFile;
import io.flexiserve.model.checkpoint.SafetensorsWriter;
import io.flexiserve.model.checkpoint.TensorDtype;
import io.flexiserve.model.checkpoint.TensorInfo;
import io.flexiserve.model.cpu.NativeKernels;
import io.flexiserve.model.cpu.VectorGemm;
import io.flexiserve.model.cpu.WeightFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Steps on the Java path ({@link JavaForward}) against the equations ({@link NaiveModel}, on weights that f16 holds
 * exactly, its keys and values rounded as the cache stores them), against the same steps on libtorch tensors, and
 * against themselves at other batch sizes and chunkings.
 */
class JavaForwardTest {

    private static final int[] PROMPT = {3, 14, 15, 92, 65};
    private static final int[] DECODED = {35, 89, 79, 32, 38, 46, 26, 43, 38, 32, 79, 50};
    private static final int KV_OFFSET = 7; // the sequence's rows start past the cache's first

    @TempDir
    Path dir;

    @BeforeEach
    void vectorApi() {
        assumeTrue(VectorGemm.AVAILABLE, "no Vector API: mixed keeps libtorch's kernels and decodes on tensors");
    }

    @Test
    void decodeStepsFollowTheEquationsWithVectorAttentionHeads() throws Exception {
        assertDecodeFollowsEquations(TestCheckpoints.flexi()); // Dh 16: the attention's vector loops
    }

    @Test
    void decodeStepsFollowTheEquationsWithNarrowAttentionHeads() throws Exception {
        ModelConfig narrow = ModelConfig.builder().hidden(64).intermediate(128).layers(4).heads(8, 4).headDim(8)
                .vocab(TestCheckpoints.VOCAB).rope(10000.0, null).maxPositions(256).routed(List.of(1, 3))
                .specialTokens(1, List.of(2)).build();
        assertDecodeFollowsEquations(narrow); // Dh 8: the scalar tails, and 2 query heads per KV head
    }

    @Test
    void premultipliedRouterHeadAndFineTunedRouterSetsDecodeInJavaToo() throws Exception {
        Path ckpt = f16Exact(TestCheckpoints.flexi());
        try (FlexiDepthModel model = ModelLoader.load(ckpt, ModelOptions.of(Device.cpu(), "mixed", 0, true))) {
            assertTrue(model.hasJavaPath());
            assertMatchesTensorPath(model, 0.5f);
            try (NDManager manager = NDManager.newBaseManager();
                 RouterWeights routers = RouterWeights.initialise(model.config(), List.of(1, 2, 3), manager, 5);
                 FlexiDepthModel view = model.withRouters(routers)) {
                assertTrue(view.hasJavaPath(), "a router set served next to its base packs its own routers");
                assertMatchesTensorPath(view, 0.5f);
            }
            assertMatchesTensorPath(model, 0.5f); // closing the view left the base's weights alone
        }
        // without premultiplying, a router set served next to its base is packed f32 as the base's own routers are
        try (FlexiDepthModel model = ModelLoader.load(ckpt, ModelOptions.of(Device.cpu(), "mixed", 0, false));
             NDManager manager = NDManager.newBaseManager();
             RouterWeights routers = RouterWeights.initialise(model.config(), List.of(1, 2, 3), manager, 5);
             FlexiDepthModel view = model.withRouters(routers)) {
            assertTrue(view.hasJavaPath());
            for (DecoderLayer layer : view.layers()) {
                if (layer.isRouted()) {
                    for (Linear l : new Linear[] {layer.router.routerEnc, layer.router.routerHead, layer.adapter.out}) {
                        assertTrue(l.packed(), "one packed copy serves both paths");
                        assertEquals(WeightFormat.F32, l.packedWeight().format(), "f32, as the loaded routers");
                    }
                }
            }
            assertMatchesTensorPath(view, 0.5f);
        }
    }

    @Test
    void aSequenceDecodesToTheSameBitsAloneOrInABatchWithOthers() throws Exception {
        Path ckpt = f16Exact(TestCheckpoints.flexi());
        float[] thresholds = {0.5f, 0f, 1f, 0.5f, 0.3f}; // runs, skips and mixed decisions in one step
        int[][] prompts = {{3, 14, 15}, {92, 65, 35, 89}, {79, 32}, {38, 46, 26, 43, 38}, {32, 79, 50, 28}};
        int sequences = prompts.length;
        try (FlexiDepthModel model = ModelLoader.load(ckpt, mixed());
             KvCache together = model.newKvCache(256); KvCache alone = model.newKvCache(256)) {
            for (int s = 0; s < sequences; s++) { // the same prefill in both caches, each sequence at its own offset
                SequenceChunk prompt = new SequenceChunk(40 * s, 0, prompts[s], thresholds[s], true);
                model.forward(StepBatch.of(prompt), together);
                model.forward(StepBatch.of(prompt), alone);
            }
            int[] past = Arrays.stream(prompts).mapToInt(p -> p.length).toArray();
            int ran = 0;
            for (int t = 0; t < 6; t++) {
                List<SequenceChunk> chunks = new ArrayList<>();
                for (int s = 0; s < sequences; s++) {
                    chunks.add(new SequenceChunk(40 * s, past[s]++, new int[] {DECODED[(s + t) % DECODED.length]},
                            thresholds[s], true));
                }
                ForwardResult batch = model.forward(new StepBatch(chunks), together);
                for (int s = 0; s < sequences; s++) {
                    ForwardResult single = model.forward(StepBatch.of(chunks.get(s)), alone);
                    assertArrayEquals(single.logits()[0], batch.logits()[s], "sequence " + s + ", step " + t);
                    for (int r = 0; r < 2; r++) {
                        assertEquals(single.trace().gate(r, 0), batch.trace().gate(r, s));
                        assertEquals(single.trace().ran(r, 0), batch.trace().ran(r, s));
                        ran += batch.trace().ran(r, s) ? 1 : 0;
                    }
                }
            }
            assertTrue(ran > 0 && ran < 6 * sequences * 2, "some rows ran routed layers, others skipped: " + ran);
        }
    }

    @Test
    void promptChunksRunInJavaFollowingTheEquationsAndARowsBitsDependOnNeitherItsChunkNorItsStep() throws Exception {
        assumeTrue(NativeKernels.attends(TestCheckpoints.flexi().headDim()), "no native attention: chunks on tensors");
        Path ckpt = f16Exact(TestCheckpoints.flexi());
        NaiveModel naive = new NaiveModel(ckpt, halfKv(TestCheckpoints.flexi()));
        int[] prompt = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26, 43, 38, 32, 79, 50, 28, 84, 19, 71};
        float[] thresholds = new float[prompt.length];
        Arrays.fill(thresholds, 0.5f);
        NaiveModel.Output expected = naive.forward(prompt, thresholds);
        try (FlexiDepthModel model = ModelLoader.load(ckpt, mixed()); KvCache whole = model.newKvCache(128);
             KvCache chunked = model.newKvCache(128); KvCache tensors = model.newKvCache(128)) {
            // the whole prompt as one chunk, next to another sequence's decode row: the step runs in Java
            StepBatch step = StepBatch.of(new SequenceChunk(KV_OFFSET, 0, prompt, 0.5f, true),
                    new SequenceChunk(96, 0, new int[] {8}, 0.5f, true));
            assertTrue(model.runsInJava(step, whole));
            ForwardResult java = model.forward(step, whole);
            ForwardResult onTensors = model.forwardOnTensors(step, tensors);
            int last = prompt.length - 1;
            assertEquals(Sampler.argmax(expected.logits()), Sampler.argmax(java.logits()[0]));
            assertTrue(maxDifference(expected.logits(), java.logits()[0]) < 2e-4, "prefill logits follow the equations");
            assertTrue(maxDifference(onTensors.logits()[0], java.logits()[0]) < 2e-4, "and the tensor path's");
            int ran = 0;
            for (int r = 0; r < 2; r++) {
                for (int t = 0; t < prompt.length; t++) {
                    assertEquals(expected.gates()[r][t], java.trace().gate(r, t), 1e-5, "gate " + r + " at " + t);
                    ran += java.trace().ran(r, t) ? 1 : 0;
                }
            }
            assertTrue(ran > 0 && ran < 2 * prompt.length, "rows of one chunk ran and skipped the routed layers: " + ran);
            assertEquals(expected.layersUsed()[last], java.trace().layersUsed(last));
            // the same prompt in three chunks, the middle one asking for no logits: the last row's bits are the same
            model.forward(StepBatch.of(new SequenceChunk(KV_OFFSET, 0, Arrays.copyOfRange(prompt, 0, 5), 0.5f, true)),
                    chunked);
            ForwardResult quiet = model.forward(StepBatch.of(new SequenceChunk(KV_OFFSET, 5,
                    Arrays.copyOfRange(prompt, 5, 17), 0.5f, false)), chunked);
            assertEquals(null, quiet.logits()[0], "a chunk that wants no logits gets none");
            ForwardResult end = model.forward(StepBatch.of(new SequenceChunk(KV_OFFSET, 17,
                    Arrays.copyOfRange(prompt, 17, prompt.length), 0.5f, true)), chunked);
            assertArrayEquals(java.logits()[0], end.logits()[0]);
            // the prompt's last token decoded after the rest was prefilled: the same bits again
            try (KvCache stepwise = model.newKvCache(128)) {
                model.forward(StepBatch.of(new SequenceChunk(KV_OFFSET, 0, Arrays.copyOfRange(prompt, 0, last), 0.5f,
                        false)), stepwise);
                ForwardResult decoded = model.forward(StepBatch.of(new SequenceChunk(KV_OFFSET, last,
                        new int[] {prompt[last]}, 0.5f, true)), stepwise);
                assertArrayEquals(java.logits()[0], decoded.logits()[0], "prefilled or decoded, a row's bits agree");
            }
            // and decoding on from either cache gives the same bits
            SequenceChunk next = new SequenceChunk(KV_OFFSET, prompt.length, new int[] {DECODED[0]}, 0.5f, true);
            assertArrayEquals(model.forward(StepBatch.of(next), whole).logits()[0],
                    model.forward(StepBatch.of(next), chunked).logits()[0]);
        }
    }

    /**
     * A sequence in blocks that are not consecutive (the engine's paged cache) on the tensor path, which gathers its
     * rows ({@code KvCache.keysAt}): with an f16 cache it reads them widened, so it follows the equations and the
     * Java path as closely as with consecutive rows.
     */
    @Test
    void aPagedSequenceReadsTheSameKeysAndValuesOnBothPaths() throws Exception {
        Path ckpt = f16Exact(TestCheckpoints.flexi());
        NaiveModel naive = new NaiveModel(ckpt, halfKv(TestCheckpoints.flexi()));
        int[] prompt = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26, 43, 38, 32, 79, 50, 28, 84, 19, 71};
        KvRows paged = new KvRows.Paged(new int[] {5, 2, 7}, 8); // positions 0-7 in rows 40-47, 8-15 in 16-23, ...
        float[] thresholds = new float[prompt.length + 1];
        Arrays.fill(thresholds, 0.5f);
        try (FlexiDepthModel model = ModelLoader.load(ckpt, mixed()); KvCache java = model.newKvCache(64);
             KvCache tensors = model.newKvCache(64)) {
            SequenceChunk chunk = new SequenceChunk(paged, 0, prompt, 0.5f, true);
            ForwardResult onTensors = model.forwardOnTensors(StepBatch.of(chunk), tensors);
            ForwardResult inJava = model.forward(StepBatch.of(chunk), java);
            float[] expected = naive.forward(prompt, Arrays.copyOf(thresholds, prompt.length)).logits();
            assertTrue(maxDifference(expected, onTensors.logits()[0]) < 2e-4, "tensor path, paged prompt");
            assertTrue(maxDifference(expected, inJava.logits()[0]) < 2e-4, "Java path, paged prompt");
            int[] sequence = Arrays.copyOf(prompt, prompt.length + 1);
            sequence[prompt.length] = DECODED[0];
            SequenceChunk next = new SequenceChunk(paged, prompt.length, new int[] {DECODED[0]}, 0.5f, true);
            float[] decodedExpected = naive.forward(sequence, thresholds).logits();
            assertTrue(maxDifference(decodedExpected, model.forwardOnTensors(StepBatch.of(next), tensors).logits()[0])
                    < 2e-4, "tensor path, a decoded row over the paged rows");
            assertTrue(maxDifference(decodedExpected, model.forward(StepBatch.of(next), java).logits()[0]) < 2e-4,
                    "Java path, a decoded row over the paged rows");
        }
    }

    @Test
    void keysAndValuesLandInTheCacheRowsTheTensorPathWrites() throws Exception {
        Path ckpt = f16Exact(TestCheckpoints.flexi());
        try (FlexiDepthModel model = ModelLoader.load(ckpt, mixed());
             KvCache row = model.newKvCache(32); KvCache tensors = model.newKvCache(32)) {
            for (KvCache cache : List.of(row, tensors)) { // zero both, so untouched rows compare equal
                for (int l = 0; l < 4; l++) {
                    ByteBuffer k = cache.keyBytes(l);
                    ByteBuffer v = cache.valueBytes(l);
                    for (int i = 0; i < k.capacity(); i++) {
                        k.put(i, (byte) 0);
                        v.put(i, (byte) 0);
                    }
                }
            }
            SequenceChunk chunk = new SequenceChunk(KV_OFFSET, 0, new int[] {42}, 0.5f, true);
            model.forward(StepBatch.of(chunk), row);
            model.forwardOnTensors(StepBatch.of(chunk), tensors);
            assertEquals(halfKv(model.config()), row.halves(), "f16 rows where the Java path takes every step");
            for (int l = 0; l < 4; l++) {
                float[] k = values(row, row.keyBytes(l));
                float[] expected = values(tensors, tensors.keyBytes(l));
                float[] v = values(row, row.valueBytes(l));
                float[] expectedV = values(tensors, tensors.valueBytes(l));
                int width = 2 * 16;
                for (int i = 0; i < k.length; i++) {
                    boolean written = i / width == KV_OFFSET;
                    // within f16 rounding: one ulp of a half where the cache holds halves (8192 float ulps)
                    double slack = Math.max(2e-3, row.halves() ? 8192 * Math.ulp(expected[i]) : 0);
                    double slackV = Math.max(2e-3, row.halves() ? 8192 * Math.ulp(expectedV[i]) : 0);
                    assertEquals(expected[i], k[i], written ? slack : 0, "layer " + l + " key float " + i);
                    assertEquals(expectedV[i], v[i], written ? slackV : 0, "layer " + l + " value float " + i);
                    assertTrue(!written || k[i] != 0, "the Java path wrote key float " + i);
                }
            }
        }
    }

    /**
     * Prefill on tensors, then one-row decode steps: each step's logits, gates and layers against the reference
     * over the whole sequence so far, on the Java path and on the tensor path.
     */
    private void assertDecodeFollowsEquations(ModelConfig config) throws Exception {
        Path ckpt = f16Exact(config);
        NaiveModel naive = new NaiveModel(ckpt, halfKv(config));
        try (FlexiDepthModel model = ModelLoader.load(ckpt, mixed());
             KvCache row = model.newKvCache(64); KvCache tensors = model.newKvCache(64)) {
            assertTrue(model.hasJavaPath(), "mixed with the Vector API decodes in Java");
            SequenceChunk prompt = new SequenceChunk(KV_OFFSET, 0, PROMPT, 0.5f, true);
            model.forward(StepBatch.of(prompt), row);
            model.forward(StepBatch.of(prompt), tensors);
            List<Integer> sequence = new ArrayList<>(Arrays.stream(PROMPT).boxed().toList());
            double rowWorst = 0;
            double tensorWorst = 0;
            int ran = 0;
            for (int token : DECODED) {
                SequenceChunk step = new SequenceChunk(KV_OFFSET, sequence.size(), new int[] {token}, 0.5f, true);
                sequence.add(token);
                int[] tokens = sequence.stream().mapToInt(Integer::intValue).toArray();
                float[] thresholds = new float[tokens.length];
                Arrays.fill(thresholds, 0.5f);
                NaiveModel.Output expected = naive.forward(tokens, thresholds);
                ForwardResult got = model.forward(StepBatch.of(step), row);
                ForwardResult onTensors = model.forwardOnTensors(StepBatch.of(step), tensors);
                int last = tokens.length - 1;
                assertEquals(expected.layersUsed()[last], got.trace().layersUsed(0), "layers at position " + last);
                for (int r = 0; r < config.routingLayers().size(); r++) {
                    assertEquals(expected.gates()[r][last], got.trace().gate(r, 0), 1e-5, "gate " + r + " at " + last);
                    ran += got.trace().ran(r, 0) ? 1 : 0;
                }
                assertEquals(Sampler.argmax(expected.logits()), Sampler.argmax(got.logits()[0]));
                rowWorst = Math.max(rowWorst, maxDifference(expected.logits(), got.logits()[0]));
                tensorWorst = Math.max(tensorWorst, maxDifference(expected.logits(), onTensors.logits()[0]));
            }
            int decisions = DECODED.length * config.routingLayers().size();
            assertTrue(ran > 0 && ran < decisions, "the seeded routers run some steps and skip others: " + ran);
            assertTrue(rowWorst < 2e-4, "Java decode logits within " + rowWorst + " of the equations");
            // the tensor path multiplies on the same packed weights (routers and adapters included), and reads the same
            // cache
            assertTrue(tensorWorst < 2e-4, "tensor path logits within " + tensorWorst + " of the equations");
        }
    }

    /** One decode step after a prefill, in Java and on tensors, for a model and its own caches. */
    private static void assertMatchesTensorPath(FlexiDepthModel model, float threshold) {
        try (KvCache row = model.newKvCache(32); KvCache tensors = model.newKvCache(32)) {
            SequenceChunk prompt = new SequenceChunk(0, 0, PROMPT, threshold, true);
            model.forward(StepBatch.of(prompt), row);
            model.forward(StepBatch.of(prompt), tensors);
            SequenceChunk step = new SequenceChunk(0, PROMPT.length, new int[] {DECODED[0]}, threshold, true);
            ForwardResult a = model.forward(StepBatch.of(step), row);
            ForwardResult b = model.forwardOnTensors(StepBatch.of(step), tensors);
            for (int r = 0; r < model.config().routingLayers().size(); r++) {
                assertEquals(b.trace().gate(r, 0), a.trace().gate(r, 0), 2e-3, "gate of routed layer " + r);
            }
            assertTrue(maxDifference(b.logits()[0], a.logits()[0]) < 0.01, "logits close to the tensor path's");
        }
    }

    /** The config's seeded checkpoint with every tensor rounded to f16, so that f16 weights hold it exactly. */
    private Path f16Exact(ModelConfig config) throws IOException {
        Path ckpt = TestCheckpoints.write(dir.resolve(config.numHeads() + "-heads"), config);
        Path file = ckpt.resolve("model.safetensors");
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        try (SafetensorsFile in = SafetensorsFile.open(file); NDManager manager = NDManager.newBaseManager()) {
            for (Map.Entry<String, TensorInfo> t : in.tensors().entrySet()) {
                ByteBuffer data = in.map(t.getValue(), 0, (int) (t.getValue().end() - t.getValue().begin()));
                float[] values = new float[data.remaining() / Float.BYTES];
                data.asFloatBuffer().get(values);
                NDArray rounded = manager.create(values).toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false);
                entries.add(SafetensorsWriter.Entry.of(t.getKey(), t.getValue().shape(), rounded.toFloatArray()));
            }
        }
        SafetensorsWriter.write(file, TensorDtype.F32, entries);
        return ckpt;
    }

    /** A cache buffer's values (f32, or f16 widened). */
    private static float[] values(KvCache cache, ByteBuffer bytes) {
        if (!cache.halves()) {
            float[] out = new float[bytes.capacity() / Float.BYTES];
            bytes.duplicate().order(bytes.order()).asFloatBuffer().get(out);
            return out;
        }
        float[] out = new float[bytes.capacity() / Short.BYTES];
        for (int i = 0; i < out.length; i++) {
            out[i] = TensorDtype.halfToFloat(bytes.getShort(i * Short.BYTES));
        }
        return out;
    }

    /** Whether mixed's cache holds f16 rows for this shape (FlexiDepthModel.kvDtype): the reference rounds them too. */
    private static boolean halfKv(ModelConfig config) {
        return mixed().kvDtype(config) == DataType.FLOAT16;
    }

    private static double maxDifference(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

    private static ModelOptions mixed() {
        return ModelOptions.of(Device.cpu(), "mixed", 0, false);
    }
}
