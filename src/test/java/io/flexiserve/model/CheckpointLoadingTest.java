package io.flexiserve.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.flexiserve.engine.Sampler;
import io.flexiserve.model.checkpoint.CheckpointException;
import io.flexiserve.model.checkpoint.CheckpointTensors;
import io.flexiserve.model.checkpoint.SafetensorsFile;
import io.flexiserve.model.checkpoint.SafetensorsWriter;
import io.flexiserve.model.checkpoint.StoredRows;
import io.flexiserve.model.checkpoint.TensorDtype;
import io.flexiserve.model.checkpoint.TensorInfo;
import io.flexiserve.model.cpu.VectorGemm;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading HF checkpoints: layouts, dtypes, and a clear error naming the file for each kind of bad checkpoint. */
class CheckpointLoadingTest {

    private static final int[] PROMPT = {3, 14, 15, 92, 65, 35};
    private static final String ADAPTER_UP = "model.layers.3.router_proj.up_proj.weight";

    @TempDir
    Path dir;

    @Test
    void shardedCheckpointGivesTheSameLogitsAsSingleFile() throws Exception {
        Path single = TestCheckpoints.write(dir.resolve("single"), TestCheckpoints.flexi());
        Path sharded = TestCheckpoints.write(dir.resolve("sharded"), TestCheckpoints.flexi(), TensorDtype.F32, 7, 3);
        assertTrue(Files.exists(sharded.resolve("model.safetensors.index.json")));
        assertTrue(Files.exists(sharded.resolve("model-00003-of-00003.safetensors")));
        assertArrayEquals(logits(single, DataType.FLOAT32), logits(sharded, DataType.FLOAT32));
    }

    @Test
    void bf16AndF16WeightsConvertExactly() throws Exception {
        Path f32 = TestCheckpoints.write(dir.resolve("f32"), TestCheckpoints.flexi(), TensorDtype.F32, 7, 1);
        Path bf16 = TestCheckpoints.write(dir.resolve("bf16"), TestCheckpoints.flexi(), TensorDtype.BF16, 7, 1);
        Path f16 = TestCheckpoints.write(dir.resolve("f16"), TestCheckpoints.flexi(), TensorDtype.F16, 7, 1);
        String name = "model.layers.2.mlp.down_proj.weight";
        try (NDManager manager = NDManager.newBaseManager(); CheckpointTensors a = CheckpointTensors.open(f32);
             CheckpointTensors b = CheckpointTensors.open(bf16); CheckpointTensors h = CheckpointTensors.open(f16)) {
            float[] exact = a.load(manager, name, DataType.FLOAT32, 64, 128).toFloatArray();
            float[] fromBf16 = b.load(manager, name, DataType.FLOAT32, 64, 128).toFloatArray();
            float[] fromF16 = h.load(manager, name, DataType.FLOAT32, 64, 128).toFloatArray();
            for (int i = 0; i < exact.length; i++) {
                assertEquals(Float.intBitsToFloat((SafetensorsWriter.toBf16(exact[i]) & 0xffff) << 16), fromBf16[i], 0f, "bf16 " + i);
                assertEquals(exact[i], fromF16[i], Math.abs(exact[i]) * 1e-3 + 1e-7, "f16 " + i);
            }
        }
        float[] reference = logits(f32, DataType.FLOAT32);
        float[] halfCompute = logits(bf16, DataType.FLOAT16);
        assertEquals(Sampler.argmax(reference), Sampler.argmax(halfCompute), "f16 compute on bf16 weights keeps the argmax");
        for (int i = 0; i < reference.length; i++) {
            assertEquals(reference[i], halfCompute[i], 0.05, "f16 logit " + i);
        }
    }

    /** An f16 weight loaded without a copy is a view of its file until released (once packed into its own buffer). */
    @Test
    void aWeightLoadedAsAViewOfItsFileIsUnmappedWhenReleased() throws Exception {
        Path f16 = TestCheckpoints.write(dir.resolve("f16-view"), TestCheckpoints.flexi(), TensorDtype.F16, 7, 1);
        String name = "model.layers.2.mlp.down_proj.weight";
        try (NDManager manager = NDManager.newBaseManager(); CheckpointTensors t = CheckpointTensors.open(f16)) {
            NDArray weight = t.load(manager, name, DataType.FLOAT16, 64, 128);
            assertTrue(t.mapped(name), "a view of the file, no copy");
            weight.close();
            t.release(name);
            assertFalse(t.mapped(name));
            t.release(name); // a second release, or one of a copied tensor, does nothing
            assertFalse(t.mapped("model.layers.0.self_attn.q_proj.weight"));
        }
    }

    /** Tensors converted in many row chunks (as large ones are) come out exactly as converted whole. */
    @Test
    void chunkedConversionEqualsWholeConversion() throws Exception {
        Path bf16 = TestCheckpoints.write(dir.resolve("bf16-chunks"), TestCheckpoints.flexi(), TensorDtype.BF16, 7, 1);
        Path f32 = TestCheckpoints.write(dir.resolve("f32-chunks"), TestCheckpoints.flexi(), TensorDtype.F32, 7, 1);
        String name = "model.layers.2.mlp.down_proj.weight"; // (64, 128)
        try (NDManager manager = NDManager.newBaseManager(); CheckpointTensors b = CheckpointTensors.open(bf16);
             CheckpointTensors a = CheckpointTensors.open(f32)) {
            for (DataType dtype : new DataType[] {DataType.FLOAT32, DataType.FLOAT16}) {
                float[] whole = b.load(manager, name, dtype, 64, 128).toType(DataType.FLOAT32, false).toFloatArray();
                // 3 rows of 128 f32 per chunk: 22 chunks, the last one short
                float[] chunked = b.loadConverted(manager, name, dtype, 3 * 128 * 4).toType(DataType.FLOAT32, false).toFloatArray();
                assertArrayEquals(whole, chunked, "bf16 as " + dtype);
                float[] exact = a.load(manager, name, dtype, 64, 128).toType(DataType.FLOAT32, false).toFloatArray();
                float[] exactChunked = a.loadConverted(manager, name, dtype, 5 * 128 * 4).toType(DataType.FLOAT32, false).toFloatArray();
                assertArrayEquals(exact, exactChunked, "f32 as " + dtype);
            }
        }
    }

    /** A table read in place, row by row (the Java kernels' embedding), holds what loading it as f32 gives. */
    @Test
    void storedRowsReadEachDtypeAsLoadingItDoes() throws Exception {
        String name = "model.layers.2.mlp.down_proj.weight"; // (64, 128)
        for (TensorDtype stored : TensorDtype.values()) {
            Path ckpt = TestCheckpoints.write(dir.resolve("rows-" + stored), TestCheckpoints.flexi(), stored, 7, 1);
            try (NDManager manager = NDManager.newBaseManager(); CheckpointTensors t = CheckpointTensors.open(ckpt)) {
                float[] loaded = t.load(manager, name, DataType.FLOAT32, 64, 128).toFloatArray();
                // whole, and in buffers of 5 rows (13 of them, the last short)
                for (StoredRows rows : List.of(t.rows(name, 64, 128), t.rows(name, 64, 128, 5 * 128 * stored.bytes()))) {
                    float[] read = new float[64 * 128 + 3];
                    for (int r = 63; r >= 0; r--) {
                        rows.read(r, read, 3 + r * 128);
                    }
                    assertArrayEquals(loaded, Arrays.copyOfRange(read, 3, read.length), stored.toString());
                    assertThrows(IndexOutOfBoundsException.class, () -> rows.read(64, read, 0));
                    assertThrows(IndexOutOfBoundsException.class, () -> rows.read(-1, read, 0));
                }
                CheckpointException wrongShape = assertThrows(CheckpointException.class, () -> t.rows(name, 128, 64));
                assertTrue(wrongShape.getMessage().contains("has shape"), wrongShape.getMessage());
            }
        }
    }

    @Test
    void f16WeightsUnderF32ActivationsStayCloseToF32() throws Exception {
        Path ckpt = TestCheckpoints.write(dir, TestCheckpoints.flexi());
        int[] prompt = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46}; // 11 rows: mixed takes its batch copy (packed f16, or f32 from 10 rows)
        float[] exact;
        try (FlexiDepthModel model = ModelLoader.load(ckpt, ModelOptions.cpu()); KvCache cache = model.newKvCache(16)) {
            exact = model.forward(StepBatch.of(new SequenceChunk(0, 0, prompt, 0.5f, true)), cache).logits()[0];
        }
        for (String dtype : new String[] {"f16-weights", "mixed"}) {
            float[] mixed;
            try (FlexiDepthModel model = ModelLoader.load(ckpt, ModelOptions.of(Device.cpu(), dtype, 0, false));
                 KvCache cache = model.newKvCache(16)) {
                assertEquals(DataType.FLOAT32, model.dtype(), "activations and the KV cache stay f32");
                assertEquals(DataType.FLOAT16, model.weightDtype());
                if (dtype.equals("mixed") && VectorGemm.AVAILABLE) { // the embedding's rows are read from the checkpoint
                    assertThrows(IllegalStateException.class, model::embedTokens, "no embedding tensor is held");
                }
                mixed = model.forward(StepBatch.of(new SequenceChunk(0, 0, prompt, 0.5f, true)), cache).logits()[0];
            }
            assertEquals(Sampler.argmax(exact), Sampler.argmax(mixed), dtype);
            for (int i = 0; i < exact.length; i++) {
                assertEquals(exact[i], mixed[i], 0.01, dtype + " logit " + i);
            }
        }
    }

    @Test
    void plainLlamaCheckpointRunsAtFullDepth() throws Exception {
        Path plain = TestCheckpoints.write(dir, TestCheckpoints.config(List.of(), null));
        try (FlexiDepthModel model = ModelLoader.load(plain, ModelOptions.cpu()); KvCache cache = model.newKvCache(16)) {
            ForwardResult result = model.forward(StepBatch.of(new SequenceChunk(0, 0, PROMPT, 1f, true)), cache);
            for (int row = 0; row < PROMPT.length; row++) {
                assertEquals(4, result.trace().layersUsed(row), "even threshold 1 cannot skip an unrouted layer");
            }
        }
    }

    @Test
    void missingTensorIsNamed() throws Exception {
        Path ckpt = TestCheckpoints.write(dir, TestCheckpoints.flexi());
        rewrite(ckpt, entries -> entries.stream().filter(e -> !e.name().equals("model.layers.1.mlp.up_proj.weight")).toList());
        assertLoadFails(ckpt, "model.safetensors: missing tensor model.layers.1.mlp.up_proj.weight");
    }

    /** A release config read without its routed layers would serve the model at full depth, its routers ignored. */
    @Test
    void routersTheConfigDoesNotListAreRefused() throws Exception {
        Path ckpt = TestCheckpoints.write(dir, TestCheckpoints.flexi());
        Path config = ckpt.resolve("config.json");
        com.fasterxml.jackson.databind.node.ObjectNode json = (com.fasterxml.jackson.databind.node.ObjectNode)
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(config.toFile());
        json.remove("routing_layers");
        Files.writeString(config, json.toString());
        assertLoadFails(ckpt, "has a router (model.layers.");
    }

    /** The last layer's fault is found from the headers, before the first layer is converted (minutes at 8B). */
    @Test
    void aMisshapenTensorInTheLastLayerFailsBeforeAnyLayerLoads() throws Exception {
        Path ckpt = TestCheckpoints.write(dir, TestCheckpoints.flexi());
        int last = ModelConfig.read(ckpt).numLayers() - 1;
        String name = "model.layers." + last + ".mlp.down_proj.weight";
        rewrite(ckpt, entries -> entries.stream().map(e -> e.name().equals(name)
                ? new SafetensorsWriter.Entry(e.name(), new long[] {e.shape()[1], e.shape()[0]}, e.values()) : e).toList());
        List<Double> progress = new ArrayList<>();
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> ModelLoader.load(ckpt, ModelOptions.cpu(), progress::add).close());
        assertTrue(e.getMessage().contains("tensor " + name + " has shape"), e.getMessage());
        assertEquals(List.of(), progress, "no layer was loaded");
    }

    @Test
    void adapterUpProjWithSwappedShapeIsRefused() throws Exception {
        Path ckpt = TestCheckpoints.write(dir, TestCheckpoints.flexi());
        rewrite(ckpt, entries -> entries.stream().map(e -> e.name().equals(ADAPTER_UP)
                ? new SafetensorsWriter.Entry(e.name(), new long[] {8, 64}, e.values()) : e).toList());
        assertLoadFails(ckpt, "tensor " + ADAPTER_UP + " has shape [8, 64] but the config needs [64, 8]");
    }

    @Test
    void truncatedFileIsReported() throws Exception {
        Path ckpt = TestCheckpoints.write(dir, TestCheckpoints.flexi());
        Path file = ckpt.resolve("model.safetensors");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 100);
        }
        assertLoadFails(ckpt, "model.safetensors: truncated: tensor");
    }

    @Test
    void unknownDtypeIsReported() throws Exception {
        writeRaw(dir.resolve("model.safetensors"), "{\"x\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        TestCheckpoints.flexi().write(dir);
        assertLoadFails(dir, "tensor x has unknown dtype 'I8'");
    }

    @Test
    void malformedHeadersAreReported() throws Exception {
        TestCheckpoints.flexi().write(dir);
        writeRaw(dir.resolve("model.safetensors"), "{not json", 0);
        assertLoadFails(dir, "malformed header: not JSON");
        writeRaw(dir.resolve("model.safetensors"), "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,8]}}", 16);
        assertLoadFails(dir, "tensor x [4] F32 needs 16 bytes but data_offsets are [0,8]");
        Files.write(dir.resolve("model.safetensors"), new byte[] {(byte) 0xff, 0, 0, 0, 0, 0, 0, 0x7f, 1, 2});
        assertLoadFails(dir, "malformed header: header length");
    }

    @Test
    void malformedOrInconsistentIndexIsReported() throws Exception {
        Path ckpt = TestCheckpoints.write(dir, TestCheckpoints.flexi(), TensorDtype.F32, 7, 2);
        Path index = ckpt.resolve("model.safetensors.index.json");
        String good = Files.readString(index);
        Files.writeString(index, "{\"metadata\": {}}");
        assertLoadFails(ckpt, "malformed index: no weight_map");
        Files.writeString(index, good.replace("\"model.norm.weight\" : \"model-00002-of-00002.safetensors\"",
                "\"model.norm.weight\" : \"model-00001-of-00002.safetensors\""));
        assertLoadFails(ckpt, "model-00001-of-00002.safetensors: index model.safetensors.index.json maps tensor model.norm.weight to this shard");
        Files.writeString(index, good.replace("model-00002-of-00002.safetensors", "../elsewhere.safetensors"));
        assertLoadFails(ckpt, "not a file name in the checkpoint directory");
    }

    @Test
    void badConfigIsReported() throws Exception {
        Path ckpt = TestCheckpoints.write(dir, TestCheckpoints.flexi());
        Path config = ckpt.resolve("config.json");
        String good = Files.readString(config);
        Files.writeString(config, good.replace("\"hidden_size\"", "\"hidden_sizes\""));
        assertLoadFails(ckpt, "config.json: missing key hidden_size");
        Files.writeString(config, good.replaceAll("\"routing_layers\" : \\[ [^]]* \\]", "\"routing_layers\" : [ 2, 9 ]"));
        assertLoadFails(ckpt, "routing_layers entry 9 is not a layer index in [0, 4)");
        Files.writeString(config, good.replace("\"rope_scaling\" : null", "\"rope_scaling\" : {\"rope_type\": \"yarn\"}"));
        assertLoadFails(ckpt, "rope_scaling type 'yarn' is not supported");
        Files.writeString(config, good.replaceAll("\"max_position_embeddings\" : \\d+", "\"max_position_embeddings\" : 0"));
        assertLoadFails(ckpt, "max_position_embeddings must be a positive integer, got 0");
        Files.writeString(config, good.replaceAll("\"num_key_value_heads\" : \\d+", "\"num_key_value_heads\" : null"));
        assertEquals(ModelConfig.read(ckpt).numHeads(), ModelConfig.read(ckpt).numKvHeads(), "null: as many as heads (HF)");
        Files.delete(config);
        assertLoadFails(ckpt, "config.json: cannot read config");
    }

    @Test
    void missingWeightsFileIsReported() throws Exception {
        TestCheckpoints.flexi().write(dir);
        assertLoadFails(dir, "no model.safetensors and no model.safetensors.index.json");
    }

    private static float[] logits(Path ckpt, DataType dtype) {
        try (FlexiDepthModel model = ModelLoader.load(ckpt, new ModelOptions(Device.cpu(), dtype, 0, false));
             KvCache cache = model.newKvCache(16)) {
            return model.forward(StepBatch.of(new SequenceChunk(0, 0, PROMPT, 0.5f, true)), cache).logits()[0];
        }
    }

    private static void assertLoadFails(Path ckpt, String expectedMessagePart) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> ModelLoader.load(ckpt, ModelOptions.cpu()).close());
        assertTrue(e.getMessage().contains(expectedMessagePart), "message '" + e.getMessage() + "' lacks '" + expectedMessagePart + "'");
    }

    /** Rewrites model.safetensors (F32) after transforming its list of tensors. */
    private static void rewrite(Path ckpt, UnaryOperator<List<SafetensorsWriter.Entry>> change) throws IOException {
        Path file = ckpt.resolve("model.safetensors");
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            for (Map.Entry<String, TensorInfo> t : in.tensors().entrySet()) {
                ByteBuffer data = in.map(t.getValue(), 0, (int) (t.getValue().end() - t.getValue().begin()));
                float[] values = new float[data.remaining() / 4];
                data.asFloatBuffer().get(values);
                entries.add(SafetensorsWriter.Entry.of(t.getKey(), t.getValue().shape(), values));
            }
        }
        SafetensorsWriter.write(file, TensorDtype.F32, change.apply(entries));
    }

    private static void writeRaw(Path file, String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(json.length).put(json);
        Files.write(file, buf.array());
    }
}
