package io.flexiserve.model.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
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

    public static final String INDEX = "model.safetensors.index.json";
    public static final String SINGLE = "model.safetensors";
    /** Largest tensor wrapped as one mapped buffer; larger ones, and any that needs converting, go in row chunks. */
    private static final long ZERO_COPY_BYTES = 1L << 30;
    /** Rows converted at once: at most this many bytes as f32 (a Java buffer view must stay under 2 GiB). */
    private static final long CONVERT_CHUNK_BYTES = 256L << 20;

    private final Path dir;
    private final Map<String, SafetensorsFile> fileOf;
    private final List<SafetensorsFile> files;
    private final Map<String, List<ByteBuffer>> pinned = new java.util.HashMap<>(); // by tensor: mappings weights view
    private final List<ByteBuffer> rowTables = new ArrayList<>(); // StoredRows' mappings, unmapped by close()

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
        SafetensorsFile file = file(name);
        TensorInfo info = checked(file, name, expectedShape);
        long bytes = info.end() - info.begin();
        Shape shape = new Shape(expectedShape);
        if (info.dtype().djlType() == dtype && bytes <= ZERO_COPY_BYTES) {
            ByteBuffer mapped = file.map(info, 0, Math.toIntExact(bytes)).order(ByteOrder.nativeOrder());
            NDArray array = manager.create(mapped, shape, dtype); // on the CPU a view of the mapping, no copy
            if (!manager.getDevice().isGpu()) {
                pinned.computeIfAbsent(name, n -> new ArrayList<>()).add(mapped);
            }
            return array;
        }
        return convertInRowChunks(manager, file, info, shape, dtype, CONVERT_CHUNK_BYTES);
    }

    /**
     * A 2-D tensor's rows as they are stored, mapped and read row by row ({@link StoredRows}): valid while this
     * checkpoint is open.
     *
     * @throws CheckpointException naming the file when the tensor is missing or has another shape
     */
    public StoredRows rows(String name, long rows, long cols) {
        return rows(name, rows, cols, ZERO_COPY_BYTES);
    }

    /** {@link #rows(String, long, long)} mapped in buffers of at most {@code chunkBytes} (for tests). */
    public StoredRows rows(String name, long rows, long cols, long chunkBytes) {
        SafetensorsFile file = file(name);
        TensorInfo info = checked(file, name, rows, cols);
        long rowBytes = cols * info.dtype().bytes();
        long rowsPerChunk = Math.max(1, chunkBytes / rowBytes); // a buffer is indexed by int
        ByteBuffer[] chunks = new ByteBuffer[(int) ((rows + rowsPerChunk - 1) / rowsPerChunk)];
        for (int c = 0; c < chunks.length; c++) {
            long first = c * rowsPerChunk;
            chunks[c] = file.map(info, first * rowBytes, Math.toIntExact(Math.min(rowsPerChunk, rows - first) * rowBytes));
            rowTables.add(chunks[c]);
        }
        return new StoredRows(chunks, rowsPerChunk, rows, Math.toIntExact(cols), info.dtype());
    }

    /**
     * Checks from the headers alone that tensor {@code name} is there with {@code shape}, as {@link #load} would.
     *
     * @throws CheckpointException naming the file when it is missing or has another shape
     */
    public void require(String name, long... shape) {
        checked(file(name), name, shape);
    }

    private SafetensorsFile file(String name) {
        SafetensorsFile file = fileOf.get(name);
        if (file == null) {
            throw new CheckpointException(files.size() == 1 ? files.get(0).path() : dir.resolve(INDEX),
                    "missing tensor " + name);
        }
        return file;
    }

    private static TensorInfo checked(SafetensorsFile file, String name, long... expectedShape) {
        TensorInfo info = file.tensors().get(name);
        if (!Arrays.equals(info.shape(), expectedShape)) {
            throw new CheckpointException(file.path(), "tensor " + name + " has shape " + info.shapeString()
                    + " but the config needs " + Arrays.toString(expectedShape));
        }
        return info;
    }

    /** {@link #load} through the chunked conversion with chunks of at most {@code chunkBytes} (for tests). */
    public NDArray loadConverted(NDManager manager, String name, DataType dtype, long chunkBytes) {
        SafetensorsFile file = file(name);
        TensorInfo info = file.tensors().get(name);
        return convertInRowChunks(manager, file, info, new Shape(info.shape()), dtype, chunkBytes);
    }

    /**
     * A tensor that needs converting (or is too large to wrap as one buffer), built chunk by chunk into a tensor
     * libtorch allocates: each chunk of rows is mapped, widened or cast, and copied into its rows. Nothing goes
     * through Java's direct buffers, whose cap ({@code -XX:MaxDirectMemorySize}, by default the heap's maximum)
     * once ended the load of a 16 GB bf16 checkpoint with plenty of memory free; temporaries are one chunk.
     */
    private static NDArray convertInRowChunks(NDManager manager, SafetensorsFile file, TensorInfo info, Shape shape,
                                              DataType dtype, long chunkBytes) {
        long rows = shape.dimension() == 0 ? 1 : shape.get(0);
        long rowElements = shape.size() / Math.max(1, rows);
        long rowBytes = rowElements * info.dtype().bytes();
        long rowsPerChunk = Math.max(1, chunkBytes / (rowElements * Float.BYTES));
        NDArray out = rows <= rowsPerChunk ? null : manager.create(shape, dtype); // uninitialised; every row is written
        for (long row = 0; row < rows; row += rowsPerChunk) {
            long count = Math.min(rowsPerChunk, rows - row);
            long[] partShape = shape.getShape().clone(); // getShape() is the Shape's own array
            if (partShape.length > 0) {
                partShape[0] = count;
            }
            ByteBuffer stored = file.map(info, row * rowBytes, Math.toIntExact(count * rowBytes));
            try {
                NDArray part = asTensor(manager, stored, info.dtype(), new Shape(partShape));
                NDArray typed = part.getDataType() == dtype ? part : part.toType(dtype, false);
                if (out == null) { // the whole tensor is one chunk
                    NDArray owned = typed == part && info.dtype() != TensorDtype.BF16 ? part.duplicate() : typed;
                    if (owned != part) {
                        part.close();
                    }
                    return owned;
                }
                out.set(new NDIndex("{}:{}", row, row + count), typed);
                typed.close();
                part.close();
            } finally {
                SafetensorsFile.unmap(stored); // every tensor viewing it is closed or was copied
            }
        }
        return out;
    }

    /**
     * One chunk as a tensor: F32 and F16 as a view of the mapping on the CPU (the caller copies or converts it
     * before the mapping goes), BF16 widened to F32 straight into a tensor libtorch allocated (through a heap
     * buffer for a GPU, whose memory Java cannot see).
     */
    private static NDArray asTensor(NDManager manager, ByteBuffer stored, TensorDtype dtype, Shape shape) {
        if (dtype != TensorDtype.BF16) {
            return manager.create(stored.order(ByteOrder.nativeOrder()), shape, dtype.djlType());
        }
        ShortBuffer in = stored.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        if (manager.getDevice().isGpu()) {
            FloatBuffer widened = FloatBuffer.allocate(in.remaining());
            bf16ToF32(in, widened);
            return manager.create(widened, shape);
        }
        NDArray f32 = manager.create(shape, DataType.FLOAT32); // uninitialised, written below
        bf16ToF32(in, f32.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer()); // a view: no copy
        return f32;
    }

    /** bf16 is the top half of an f32: widen each element by a 16-bit shift. */
    static void bf16ToF32(ShortBuffer in, FloatBuffer out) {
        for (int i = 0, n = in.remaining(); i < n; i++) {
            out.put(i, TensorDtype.bf16ToFloat(in.get(i)));
        }
    }

    /**
     * Closes the files and unmaps the tables {@link #rows} mapped (now, not when a GC finds them, as
     * {@link SafetensorsFile#unmap} says why): nothing may read them afterwards.
     */
    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
        rowTables.forEach(SafetensorsFile::unmap);
        rowTables.clear();
    }

    /**
     * Unmaps the file pages {@link #load} gave tensor {@code name} without a copy, once nothing reads them (the
     * tensor was packed into another buffer and closed): otherwise they stay mapped, and resident once read, for as
     * long as the checkpoint is open. Nothing to do for a tensor that was copied.
     */
    public void release(String name) {
        pinned.getOrDefault(name, List.of()).forEach(SafetensorsFile::unmap);
        pinned.remove(name);
    }

    /** Whether tensor {@code name} was loaded as a view of its file and is still mapped. */
    public boolean mapped(String name) {
        return pinned.containsKey(name);
    }
}
