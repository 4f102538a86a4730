package io.flexiserve.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flexiserve.model.checkpoint.CheckpointTensors;
import io.flexiserve.model.cpu.PackedWeightCache;
import io.flexiserve.model.cpu.ShortLivedThread;
import io.flexiserve.model.cpu.VectorGemm;
import io.flexiserve.model.cpu.WeightFormat;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The packed weights kept on disk between starts: written once, mapped after, and never trusted when stale or broken. */
class PackedWeightCacheTest {

    private static final int[] PROMPT = {3, 14, 15, 92, 65, 35};

    @TempDir
    Path dir;
    private Path ckpt;
    private Path root;

    @BeforeEach
    void checkpoint() throws Exception {
        assumeTrue(VectorGemm.AVAILABLE, "the Java kernels are needed");
        ckpt = TestCheckpoints.write(dir.resolve("ckpt"), TestCheckpoints.flexi());
        root = dir.resolve("packed");
    }

    @Test
    void aSecondLoadMapsTheEntryTheFirstWroteAndComputesTheSameBits() throws Exception {
        float[] first = logits("q8", root);
        List<Path> entries = entries();
        assertEquals(1, entries.size(), "one entry, no staging directory left: " + entries);
        assertTrue(Files.exists(entries.get(0).resolve("index.json")));
        try (PackedWeightCache cache = PackedWeightCache.open(root, ckpt, "q8")) {
            assertFalse(cache.writing(), "the entry is read, not written again");
        }
        long written = Files.getLastModifiedTime(entries.get(0).resolve("weights.bin")).toMillis();
        assertArrayEquals(first, logits("q8", root), "mapped weights give the bits the packed ones gave");
        assertArrayEquals(first, logits("q8", null), "and the bits of a load without the cache");
        assertEquals(written, Files.getLastModifiedTime(entries.get(0).resolve("weights.bin")).toMillis());
        logits("mixed", root);
        assertEquals(2, entries().size(), "each dtype has its own entry");
    }

    /**
     * A load serves its weights from the entry's file pages, the load that writes it as well as those that map it
     * (read in while loading); closing the model unmaps them.
     */
    @Test
    void bothLoadsServeFromTheEntrysFilePagesUntilTheModelCloses() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/maps")), "reads this process's mappings (Linux)");
        float[] reference = logits("q8", null);
        for (String load : new String[] {"the load that writes the entry", "a load that maps it"}) {
            try (FlexiDepthModel model = load("q8", root)) {
                int layers = model.config().numLayers();
                int routed = model.config().routingLayers().size();
                // q/k/v/o, gate/up/down per layer, the routers' three and the adapters' three per routed layer, the head
                assertTrue(entryMappings() >= 7L * layers + 6L * routed + 1, load + ": " + entryMappings()
                        + " mappings of the entry");
                assertArrayEquals(reference, logits(model), load + ": the bits of a load without the cache");
            }
            assertEquals(0, entryMappings(), load + ": closing the model unmaps its weights");
            assertEquals(1, entries().size(), "one entry, no staging directory left");
        }
    }

    private long entryMappings() throws java.io.IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .filter(line -> line.contains(dir.toString()) && line.endsWith("weights.bin")).count();
    }

    @Test
    void aChangedCheckpointGetsANewEntryAndItsOldOneIsRemoved() throws Exception {
        float[] before = logits("q4", root);
        Path old = entries().get(0);
        Path weights = ckpt.resolve(CheckpointTensors.SINGLE);
        Files.setLastModifiedTime(weights, FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() + 60_000));
        assertArrayEquals(before, logits("q4", root), "the same values, repacked");
        List<Path> now = entries();
        assertEquals(1, now.size(), "the entry of the checkpoint's old files is removed: " + now);
        assertFalse(now.contains(old), "a checkpoint with another modification time is another checkpoint");
    }

    /**
     * Entries this build no longer reads (the same checkpoint directory, dtype and vector width under another key: an
     * older layout version) are removed when the current one is opened; entries of another dtype, checkpoint or vector
     * width, and entries without a record of their source, are not this load's to judge and stay.
     */
    @Test
    void anOlderLayoutsEntryIsRemovedAndOtherEntriesStay() throws Exception {
        logits("q8", root);
        Path current = entries().get(0);
        ObjectMapper json = new ObjectMapper();
        ObjectNode source =
                (ObjectNode) json.readTree(current.resolve("source.json").toFile());
        assertEquals(ckpt.toAbsolutePath().normalize().toString(), source.get("checkpoint").asText());
        assertEquals("q8", source.get("dtype").asText());

        Path older = entry("q8-older", source.deepCopy().put("version", source.get("version").asInt() - 1));
        Path otherDtype = entry("q4-other", source.deepCopy().put("dtype", "q4"));
        Path otherCheckpoint = entry("q8-elsewhere", source.deepCopy().put("checkpoint", dir.resolve("x").toString()));
        Path otherWidth = entry("q8-wider", source.deepCopy().put("lanes", source.get("lanes").asInt() * 2));
        Path unrecorded = entry("q8-unrecorded", null);
        try (PackedWeightCache cache = PackedWeightCache.open(root, ckpt, "q8")) {
            assertFalse(cache.writing(), "the current entry is read");
        }
        assertFalse(Files.exists(older), "the older layout's entry is removed");
        for (Path kept : List.of(current, otherDtype, otherCheckpoint, otherWidth, unrecorded)) {
            assertTrue(Files.exists(kept.resolve("weights.bin")), kept + " stays");
        }

        Files.delete(current.resolve("source.json")); // an entry written before the record existed
        logits("q8", root);
        assertTrue(Files.exists(current.resolve("source.json")), "a current entry without a record gets one");
    }

    /**
     * An entry another process serves (it holds the shared lock every load takes on the weights it maps) is not
     * removed, however superseded, and is once that process has gone; nor is one this JVM serves.
     */
    @Test
    void aSupersededEntryAProcessServesStaysUntilItHasGone() throws Exception {
        logits("q8", root);
        Path current = entries().get(0);
        ObjectNode source = (ObjectNode)
                new ObjectMapper().readTree(current.resolve("source.json").toFile());
        Path older = entry("q8-older", source.deepCopy().put("version", source.get("version").asInt() - 1));

        Path holder = dir.resolve("Hold.java"); // a second process: locks as a serving load does, until stdin closes
        Files.writeString(holder, "import java.nio.channels.FileChannel; import java.nio.file.*;\n"
                + "public class Hold { public static void main(String[] a) throws Exception {\n"
                + "  try (FileChannel c = FileChannel.open(Path.of(a[0]), StandardOpenOption.READ)) {\n"
                + "    c.lock(0, Long.MAX_VALUE, true); System.out.println(\"held\"); System.out.flush();\n"
                + "    System.in.read(); } } }\n");
        String launcher = ProcessHandle.current().info().command().orElse("java");
        Process other = new ProcessBuilder(launcher, holder.toString(), older.resolve("weights.bin").toString())
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(other.getInputStream()));
            assertEquals("held", out.readLine(), "the other process holds the lock");
            try (PackedWeightCache cache = PackedWeightCache.open(root, ckpt, "q8")) {
                assertFalse(cache.writing());
            }
            assertTrue(Files.exists(older.resolve("weights.bin")), "served by another process: kept");
        } finally {
            other.getOutputStream().close();
            other.waitFor();
        }
        try (FileChannel here = FileChannel.open(older.resolve("weights.bin"),
                StandardOpenOption.READ)) {
            here.lock(0, Long.MAX_VALUE, true);
            PackedWeightCache.open(root, ckpt, "q8").close();
            assertTrue(Files.exists(older.resolve("weights.bin")), "served by this JVM: kept");
        }
        PackedWeightCache.open(root, ckpt, "q8").close();
        assertFalse(Files.exists(older), "served by no one: removed");
        assertTrue(Files.exists(current.resolve("index.json")), "and the current entry, served by none, stays");
    }

    /** An entry directory named {@code name} with a weights file and, unless null, {@code source} as its record. */
    private Path entry(String name, JsonNode source) throws Exception {
        Path entry = Files.createDirectories(root.resolve(name));
        Files.writeString(entry.resolve("weights.bin"), "weights");
        Files.writeString(entry.resolve("index.json"), "{}");
        if (source != null) {
            Files.writeString(entry.resolve("source.json"), source.toString());
        }
        return entry;
    }

    @Test
    void aBrokenEntryOrAnUnwritableRootIsPassedByAndTheLoadGoesOn() throws Exception {
        float[] reference = logits("q8", null);
        logits("q8", root);
        Path entry = entries().get(0);
        Files.writeString(entry.resolve("index.json"), "{ not json");
        assertArrayEquals(reference, logits("q8", root), "a broken index: loaded from the checkpoint");
        try (PackedWeightCache cache = PackedWeightCache.open(root, ckpt, "q8")) {
            assertFalse(cache.writing(), "and the entry written again");
        }
        try (FileChannel weights = FileChannel.open(entry.resolve("weights.bin"),
                StandardOpenOption.WRITE)) {
            weights.truncate(weights.size() / 2);
        }
        assertArrayEquals(reference, logits("q8", root), "truncated weights: loaded from the checkpoint");
        assertArrayEquals(reference, logits("q8", root), "and mapped from the entry written again");
        try (FileChannel weights = FileChannel.open(entries().get(0).resolve("weights.bin"), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            weights.read(one, 100);
            one.put(0, (byte) ~one.get(0)); // bit rot in the first weight's codes, the file's length unchanged
            weights.write(one.rewind(), 100);
        }
        assertArrayEquals(reference, logits("q8", root), "a weight that fails its checksum: loaded from the checkpoint");

        Path file = dir.resolve("not-a-directory");
        Files.writeString(file, "x");
        assertArrayEquals(reference, logits("q8", file), "a root that is a file: loaded without a cache");
    }

    /** An entry the disk has no room for (its size and a spare gigabyte) is not started: nothing is written. */
    @Test
    void anEntryTheDiskCannotHoldIsNotWritten() throws Exception {
        assertEquals(null, PackedWeightCache.open(root, ckpt, "q8", Long.MAX_VALUE / 4), "no room for it");
        try (Stream<Path> left = Files.list(root)) {
            assertEquals(0, left.count(), "no staging directory left");
        }
        assumeTrue(Files.getFileStore(dir).getUsableSpace() > (2L << 30), "a disk with the spare gigabyte free");
        try (PackedWeightCache cache = PackedWeightCache.open(root, ckpt, "q8", 1)) {
            assertTrue(cache.writing(), "an entry that fits is written");
        }
    }

    /** What a killed load leaves: an entry without its index, a staging directory; the next start clears both. */
    @Test
    void leftoversOfAKilledLoadAreClearedAndTheEntryWrittenAgain() throws Exception {
        float[] reference = logits("q8", root);
        Path entry = entries().get(0);
        Files.delete(entry.resolve("index.json"));
        Path staging = Files.createDirectory(root.resolve(entry.getFileName() + ".writing-123"));
        Files.writeString(staging.resolve("weights.bin"), "partial");
        Files.setLastModifiedTime(staging.resolve("weights.bin"), FileTime.fromMillis(System.currentTimeMillis() - 3_600_000));
        Path fresh = Files.createDirectory(root.resolve("other.writing-456")); // a load still writing: kept
        Files.writeString(fresh.resolve("weights.bin"), "in progress");
        assertArrayEquals(reference, logits("q8", root));
        assertFalse(Files.exists(staging), "an abandoned staging directory is removed");
        assertTrue(Files.exists(fresh), "a staging directory still being written is kept");
        assertTrue(Files.exists(entry.resolve("index.json")), "the entry without an index is written again");
        Files.walk(fresh).sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }

    /**
     * An entry that cannot be committed is abandoned, its staging directory deleted, while the weights the load was
     * handed, mapped from that directory's file, go on serving until the cache closes.
     */
    @Test
    void weightsMappedFromAnAbandonedEntryServeUntilTheCacheCloses() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            java.util.Random random = new java.util.Random(7);
            NDArray weight = manager.create(Products.gaussian(random, 64 * 128, 1), new Shape(64, 128))
                    .toType(DataType.FLOAT16, false);
            VectorGemm packed = VectorGemm.pack(weight, WeightFormat.Q8);
            float[] x = Products.gaussian(random, 3 * 128, 1);
            float[] expected = packed.multiplyRows(x, 3);
            PackedWeightCache cache = PackedWeightCache.open(root, ckpt, "q8");
            try {
                assertTrue(cache.writing());
                VectorGemm mapped = cache.record("w", packed, manager);
                assertNotNull(mapped, "written and mapped back");
                Path staging = entries().get(0);
                String name = staging.getFileName().toString();
                Path entry = root.resolve(name.substring(0, name.indexOf(".writing-")));
                Files.createDirectories(entry); // another process's entry, half written: the rename cannot replace it
                Files.writeString(entry.resolve("weights.bin"), "partial");
                cache.commit();
                assertFalse(Files.exists(staging), "the abandoned staging directory is deleted");
                assertFalse(Files.exists(entry.resolve("index.json")), "and no entry committed");
                assertArrayEquals(expected, mapped.multiplyRows(x, 3), "the mapped weight still serves");
            } finally {
                cache.close();
            }
        }
    }

    /** A tied LM head (a packed copy of the embedding) is cached too, under lm_head.weight. */
    @Test
    void aTiedHeadIsCachedLikeAnUntiedOne() throws Exception {
        ModelConfig tied = ModelConfig.builder().hidden(64).intermediate(128).layers(4).heads(4, 2).headDim(16)
                .vocab(TestCheckpoints.VOCAB).rope(10000.0, null).maxPositions(256).routed(List.of(2, 3))
                .tiedEmbeddings(true).specialTokens(1, List.of(2)).build();
        ckpt = TestCheckpoints.write(dir.resolve("tied"), tied);
        float[] first = logits("q8", root);
        String index = Files.readString(entries().get(0).resolve("index.json"));
        assertTrue(index.contains("\"lm_head.weight\""), "the tied head is in the entry");
        assertArrayEquals(first, logits("q8", root), "and mapped from it");
    }

    private List<Path> entries() throws Exception {
        try (Stream<Path> list = Files.list(root)) {
            return list.sorted().toList();
        }
    }

    /** The prompt's next-token logits from a fresh load of {@code dtype}, through the cache under {@code cacheRoot}. */
    private float[] logits(String dtype, Path cacheRoot) throws Exception {
        try (FlexiDepthModel model = load(dtype, cacheRoot)) {
            return logits(model);
        }
    }

    private FlexiDepthModel load(String dtype, Path cacheRoot) throws Exception {
        ModelOptions options = ModelOptions.of(Device.cpu(), dtype, 0, false);
        return ShortLivedThread.call("load", () -> ModelLoader.load(ckpt, options, p -> { }, cacheRoot, dtype));
    }

    /** The prompt's last logits; on a short-lived thread, as every kernel call (ShortLivedThread). */
    private static float[] logits(FlexiDepthModel model) throws Exception {
        return ShortLivedThread.call("forward", () -> {
            try (KvCache cache = model.newKvCache(32)) {
                return model.forward(StepBatch.of(new SequenceChunk(0, 0, PROMPT, 0.5f, true)), cache).logits()[0];
            }
        });
    }
}
