package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a checkpoint directory, resolved through {@code model.safetensors.index.json} when
 * present (sharded) or from the single {@code model.safetensors}, and loaded as NDArrays of the compute
 * dtype. F32 and F16 data already in the compute dtype are wrapped without a copy; the mappings are
 * kept referenced here because DJL does not reference the buffers it wraps.
 */
public final class CheckpointTensors implements AutoCloseable {

    static final String INDEX = "model.safetensors.index.json";
    static final String SINGLE = "model.safetensors";
    /** Largest slice mapped and wrapped at once; larger tensors are loaded in row chunks. */
    private static final long CHUNK_BYTES = 1L << 30;

    private final Path dir;
    private final Map<String, SafetensorsFile> fileOf;
    private final List<SafetensorsFile> files;
    private final List<ByteBuffer> pinned = new ArrayList<>();

    private CheckpointTensors(Path dir, Map<String, SafetensorsFile> fileOf, List<SafetensorsFile> files) {
        this.dir = dir;
        this.fileOf = fileOf;
        this.files = files;
    }

    /** Opens every shard and checks that the index and the shards agree. */
    public static CheckpointTensors open(Path dir) {
        Path index = dir.resolve(INDEX);
        if (Files.exists(index)) {
            return openSharded(dir, index);
        }
        Path single = dir.resolve(SINGLE);
        if (!Files.exists(single)) {
            throw new CheckpointException(dir, "no " + SINGLE + " and no " + INDEX);
        }
        return openFile(single);
    }

    /** Opens one safetensors file on its own (a checkpoint's single shard, or a router set). */
    public static CheckpointTensors openFile(Path path) {
        SafetensorsFile file = SafetensorsFile.open(path);
        Map<String, SafetensorsFile> fileOf = new HashMap<>();
        file.tensors().keySet().forEach(name -> fileOf.put(name, file));
        return new CheckpointTensors(path.getParent(), fileOf, List.of(file));
    }

    private static CheckpointTensors openSharded(Path dir, Path index) {
        JsonNode weightMap;
        try {
            weightMap = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new CheckpointException(index, "malformed index: " + e.getMessage(), e);
        }
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new CheckpointException(index, "malformed index: no weight_map object");
        }
        Map<String, SafetensorsFile> byShard = new HashMap<>();
        Map<String, SafetensorsFile> fileOf = new HashMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String shard = e.getValue().asText("");
                if (shard.isEmpty() || shard.contains("/") || shard.contains("\\")) {
                    throw new CheckpointException(index, "malformed index: tensor " + e.getKey()
                            + " maps to '" + shard + "', not a file name in the checkpoint directory");
                }
                SafetensorsFile file = byShard.computeIfAbsent(shard, s -> SafetensorsFile.open(dir.resolve(s)));
                if (!file.tensors().containsKey(e.getKey())) {
                    throw new CheckpointException(file.path(), "index " + INDEX + " maps tensor " + e.getKey()
                            + " to this shard but the shard does not contain it");
                }
                fileOf.put(e.getKey(), file);
            }
        } catch (CheckpointException e) {
            byShard.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new CheckpointTensors(dir, fileOf, List.copyOf(byShard.values()));
    }

    /** Every tensor name with its stored shape. */
    public Map<String, long[]> shapes() {
        Map<String, long[]> shapes = new java.util.TreeMap<>();
        fileOf.forEach((name, file) -> shapes.put(name, file.tensors().get(name).shape()));
        return shapes;
    }

    public boolean contains(String name) {
        return fileOf.containsKey(name);
    }

    /** Total bytes of all tensors as stored. */
    public long storedBytes() {
        return files.stream().flatMap(f -> f.tensors().values().stream()).mapToLong(t -> t.end() - t.begin()).sum();
    }

    /**
     * Loads one tensor as {@code dtype} on the manager's device, checking its shape.
     *
     * @throws CheckpointException naming the file when the tensor is missing or has another shape
     */
    public NDArray load(NDManager manager, String name, DataType dtype, long... expectedShape) {
        SafetensorsFile file = fileOf.get(name);
        if (file == null) {
            throw new CheckpointException(files.size() == 1 ? files.get(0).path() : dir.resolve(INDEX),
                    "missing tensor " + name);
        }
        TensorInfo info = file.tensors().get(name);
        if (!Arrays.equals(info.shape(), expectedShape)) {
            throw new CheckpointException(file.path(), "tensor " + name + " has shape " + info.shapeString()
                    + " but the config needs " + Arrays.toString(expectedShape));
        }
        long bytes = info.end() - info.begin();
        if (bytes <= CHUNK_BYTES || expectedShape.length == 0 || expectedShape[0] < 2) {
            return wrap(manager, file.map(info, 0, Math.toIntExact(bytes)), info.dtype(), new Shape(expectedShape), dtype);
        }
        return loadInRowChunks(manager, file, info, dtype);
    }

    private NDArray loadInRowChunks(NDManager manager, SafetensorsFile file, TensorInfo info, DataType dtype) {
        long[] shape = info.shape();
        long rowBytes = (info.end() - info.begin()) / shape[0];
        long rowsPerChunk = Math.max(1, CHUNK_BYTES / rowBytes);
        List<NDArray> parts = new ArrayList<>();
        for (long row = 0; row < shape[0]; row += rowsPerChunk) {
            long rows = Math.min(rowsPerChunk, shape[0] - row);
            long[] partShape = shape.clone();
            partShape[0] = rows;
            ByteBuffer buf = file.map(info, row * rowBytes, Math.toIntExact(rows * rowBytes));
            parts.add(wrap(manager, buf, info.dtype(), new Shape(partShape), dtype));
        }
        NDArray whole = parts.get(0);
        for (int i = 1; i < parts.size(); i++) {
            NDArray next = whole.concat(parts.get(i), 0);
            whole.close();
            parts.get(i).close();
            whole = next;
        }
        return whole;
    }

    private NDArray wrap(NDManager manager, ByteBuffer data, TensorDtype stored, Shape shape, DataType dtype) {
        ByteBuffer buf = stored == TensorDtype.BF16 ? bf16ToF32(data) : data;
        DataType type = stored == TensorDtype.BF16 ? DataType.FLOAT32 : stored.djlType();
        NDArray array = manager.create(buf.order(ByteOrder.nativeOrder()), shape, type);
        if (type == dtype) {
            if (!manager.getDevice().isGpu()) {
                pinned.add(buf); // the array is a view of buf
            }
            return array;
        }
        NDArray converted = array.toType(dtype, true);
        array.close();
        return converted;
    }

    /** bf16 is the top half of an f32: widen each element by a 16-bit shift. */
    private static ByteBuffer bf16ToF32(ByteBuffer data) {
        ShortBuffer in = data.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        ByteBuffer out = ByteBuffer.allocateDirect(in.remaining() * 4).order(ByteOrder.nativeOrder());
        for (int i = 0, n = in.remaining(); i < n; i++) {
            out.putInt(i * 4, (in.get(i) & 0xffff) << 16);
        }
        return out;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }

    /** The mapped buffers that back zero-copy weights; they must stay reachable while the weights live. */
    List<ByteBuffer> pinnedBuffers() {
        return pinned;
    }
}
