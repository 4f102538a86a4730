package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.flexiserve.model.cpu.PackedWeightCache;
import io.flexiserve.model.cpu.RowKernel;
import io.flexiserve.model.cpu.VectorGemm;
import io.flexiserve.model.cpu.WeightFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * A bias-free linear layer with the HF {@code [out, in]} weight layout: {@code y = x W^T}.
 *
 * <p>The kernel is chosen per call from the row count, because on CPU no single kernel is best at every batch
 * size (BENCHMARKS.md, "Kernels by batch size"):
 * <ul>
 *   <li>With the Vector API on the module path, a base projection of {@code mixed} (or {@code q8}, {@code q4}:
 *       quantized as {@link WeightFormat} says) is packed for {@link VectorGemm}
 *       and the packed form is its only copy: every step multiplies on the Java kernels (its single row on
 *       {@code RowKernel}, which streams the weight faster than libtorch's f16 matvec; its many rows 1.1-3x faster
 *       than any libtorch kernel here). Routers and adapters are packed the same way in f32 ({@link #packedExact}:
 *       they are small and decide the routing), unless the router head is premultiplied, which needs their
 *       tensors.</li>
 *   <li>f16 weights stream fastest at a few rows (a memory-bound matvec, about 3x f32's) but do not batch: their
 *       cost grows linearly with the rows. With {@code f32Copy}, an f32 copy of the same (f16-rounded) values, steps
 *       of at least {@code f32CopyRows} rows use f32 instead, whose GEMM is compute-bound and batches.</li>
 *   <li>The f16 matvec slows down on inputs wider than {@link #F16_MATVEC_MAX_IN} (a 2048x8192 down projection
 *       streams at about 70% of the rate of an 8192x2048 up projection), so an f16 CPU weight wider than that is
 *       kept as contiguous column blocks whose products are summed in f32: about 25% faster, no extra memory.</li>
 *   <li>f32 on CPU with two or more rows runs as {@code W x^T} rather than {@code x W^T}: the same product, but
 *       libtorch's GEMM takes a 1.3-2x faster path for it at small row counts.</li>
 * </ul>
 */
final class Linear {

    static final long F16_MATVEC_MAX_IN = 4096;

    private final NDArray[] blocks; // the (out, in) weight, its column blocks (out, in / blocks.length), or none when packed
    private final NDIndex[] blockColumns; // the input columns each block multiplies, parsed once
    private final NDArray f32Copy;     // f32 copy of an f16 weight for steps of many rows, or null
    private final int f32CopyRows;
    private final VectorGemm packed; // the packed weight, its only copy (no blocks then), or null

    Linear(NDArray weight) {
        this(new NDArray[] {weight}, null, Integer.MAX_VALUE, null);
    }

    private Linear(NDArray[] blocks, NDArray f32Copy, int f32CopyRows, VectorGemm packed) {
        this.blocks = blocks;
        long width = blocks.length == 0 ? 0 : blocks[0].getShape().get(1);
        this.blockColumns = new NDIndex[blocks.length];
        for (int b = 0; b < blocks.length; b++) {
            blockColumns[b] = columns(b, width);
        }
        this.f32Copy = f32Copy;
        this.f32CopyRows = f32CopyRows;
        this.packed = packed;
    }

    /**
     * A base-model projection as the options load it. An f16 weight on CPU is split into column blocks when it is
     * wider than libtorch's matvec likes. When {@code options.batchRows() > 0} ({@code mixed}) and the Vector API is
     * there, the weight is packed for {@link VectorGemm} and the packed form is its only copy: every step, one row or
     * many, multiplies on it. Without the Vector API it keeps an f32 copy for steps of {@code batchRows} rows or more.
     * Every kernel multiplies by the same (f16) values. Takes ownership of {@code weight}.
     */
    static Linear of(NDArray weight, ModelOptions options) {
        return of(weight, options, VectorGemm.AVAILABLE);
    }

    /** As {@link #of(NDArray, ModelOptions)}, told whether to use the Vector API (tests take both ways). */
    static Linear of(NDArray weight, ModelOptions options, boolean vectorApi) {
        if (weight.getDataType() != DataType.FLOAT16 || weight.getDevice().isGpu()) {
            return new Linear(weight);
        }
        if (options.batchRows() == 0) {
            return new Linear(columnBlocks(weight), null, Integer.MAX_VALUE, null);
        }
        // a weight without whole quantization blocks along its input stays f16 (no base projection of a Llama)
        WeightFormat format = VectorGemm.accepts(weight, options.packing()) ? options.packing() : WeightFormat.F16;
        if (vectorApi && VectorGemm.accepts(weight, format)) {
            return packedOnly(weight, format);
        }
        NDArray f32Copy = weight.toType(DataType.FLOAT32, false);
        return new Linear(columnBlocks(weight), f32Copy, options.batchRows(), null);
    }

    /** A weight already packed (mapped from {@link PackedWeightCache}): its only copy. */
    static Linear packed(VectorGemm packed) {
        return new Linear(new NDArray[0], null, Integer.MAX_VALUE, packed);
    }

    /**
     * A router or adapter weight of a model on the Java kernels: packed in its own precision (f32 panels for an f32
     * weight) as its only copy (both forward paths multiply on it), or kept as it is where the Java kernels do not
     * take it. Takes ownership of {@code weight}.
     */
    static Linear packedExact(NDArray weight) {
        if (!VectorGemm.accepts(weight)) {
            return new Linear(weight);
        }
        VectorGemm packed = VectorGemm.pack(weight);
        weight.close();
        return packed(packed);
    }

    /** {@code weight} packed as {@code format}, the packed form its only copy: the tensor is closed. */
    private static Linear packedOnly(NDArray weight, WeightFormat format) {
        VectorGemm packed = VectorGemm.pack(weight, format);
        weight.close();
        return packed(packed);
    }

    private static NDArray[] columnBlocks(NDArray weight) {
        long in = weight.getShape().get(1);
        int count = (int) ((in + F16_MATVEC_MAX_IN - 1) / F16_MATVEC_MAX_IN);
        if (count == 1 || in % count != 0) {
            return new NDArray[] {weight};
        }
        long width = in / count;
        NDArray[] blocks = new NDArray[count];
        for (int b = 0; b < count; b++) {
            try (NDArray view = weight.get(columns(b, width))) {
                blocks[b] = view.duplicate(); // a column slice is not dense: its copy is contiguous
            }
        }
        weight.close();
        return blocks;
    }

    private static NDIndex columns(int block, long width) {
        return new NDIndex("..., {}:{}", block * width, (block + 1) * width);
    }

    /** x: (N, in) or (B, T, in) -> (..., out), in x's dtype. */
    NDArray forward(NDArray x) {
        long rows = x.getShape().dimension() == 2 ? x.getShape().get(0) : 0;
        if (packed != null) {
            return multiplyPacked(x);
        }
        if (f32Copy != null && rows >= f32CopyRows) {
            return project(x, f32Copy, rows);
        }
        if (blocks.length == 1) {
            return project(x, blocks[0], rows);
        }
        NDArray sum = null;
        for (int b = 0; b < blocks.length; b++) {
            NDArray part = project(x.get(blockColumns[b]), blocks[b], rows);
            part = part.getDataType() == DataType.FLOAT32 ? part : part.toType(DataType.FLOAT32, false);
            sum = sum == null ? part : sum.addi(part);
        }
        return x.getDataType() == DataType.FLOAT32 ? sum : sum.toType(x.getDataType(), false);
    }

    /** A packed-only weight: any row count, leading dimensions flattened; no autograd through the Java kernels. */
    private NDArray multiplyPacked(NDArray x) {
        if (x.hasGradient()) {
            throw new IllegalStateException("a packed weight has no gradient path; train on an f32 or f16 model");
        }
        if (x.getShape().dimension() == 2) {
            return packed.multiply(x);
        }
        long[] shape = x.getShape().getShape().clone(); // getShape() is the Shape's own array
        NDArray flat = packed.multiply(x.reshape(-1, shape[shape.length - 1]));
        shape[shape.length - 1] = flat.getShape().get(1);
        return flat.reshape(shape);
    }

    /** x W^T with W in its own dtype, the result in x's. */
    private static NDArray project(NDArray x, NDArray w, long rows) {
        if (x.getDataType() != w.getDataType()) {
            return project(x.toType(w.getDataType(), false), w, rows).toType(x.getDataType(), false);
        }
        if (rows >= 2 && w.getDataType() == DataType.FLOAT32 && !w.getDevice().isGpu()) {
            return w.matMul(x.transpose()).transpose(); // (out, in) x (in, N) -> (N, out), a transposed view
        }
        return x.getNDArrayInternal().linear(x, w, null).singletonOrThrow();
    }

    /** The weight as one (out, in) tensor; only for layers that are never split (routers, adapters). */
    NDArray weight() {
        if (blocks.length != 1) {
            throw new IllegalStateException(blocks.length == 0 ? "this layer's weight is stored packed only"
                    : "this layer's weight is stored as " + blocks.length + " column blocks");
        }
        return blocks[0];
    }

    /**
     * The tensors holding the weight (one, or its column blocks, and its batch copy if any), for tests that check
     * it is unchanged.
     */
    List<NDArray> stored() {
        List<NDArray> stored = new ArrayList<>(List.of(blocks));
        if (f32Copy != null) {
            stored.add(f32Copy);
        }
        if (packed != null) {
            stored.add(packed.storage());
        }
        return stored;
    }

    /** The manager, and so the device, that holds the weight. */
    NDManager manager() {
        return blocks.length == 0 ? packed.storage().getManager() : blocks[0].getManager();
    }

    /** Whether the weight is stored for the Java kernels ({@link VectorGemm}), which then take every step. */
    boolean packed() {
        return packed != null;
    }

    /** Whether the weight is stored for the Java kernels, or is a single tensor they can take. */
    boolean packable() {
        return packed() || blocks.length == 1 && VectorGemm.accepts(blocks[0]);
    }

    /** The packed weight, or null when this layer has none. */
    VectorGemm packedWeight() {
        return packed;
    }

    /** The weight's dtype (for a packed weight: f32 in f32 panels, else f16, whatever its format). */
    DataType dtype() {
        if (blocks.length > 0) {
            return blocks[0].getDataType();
        }
        return packed.format() == WeightFormat.F32 ? DataType.FLOAT32 : DataType.FLOAT16;
    }
}
