package io.flexiserve.model.cpu;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * {@code y = x W^T} for a CPU weight stored for the Java kernels (f16 panels, 8- and 4-bit codes, or f32 panels for
 * routers and adapters: {@link WeightFormat}), computed in Java with the Vector API instead of libtorch.
 *
 * <p>Why: on CPU, libtorch has no f16 GEMM that batches (its f16 kernels cost the same per row at any row count)
 * and its f32 GEMM at 2-32 rows packs the whole weight on every call; at the 16 rows of a busy decode step it
 * reaches about a third of this machine's FMA peak. Packing the weight once, at load, into the panels of
 * {@link PanelLayout} and multiplying with register-blocked FMAs ({@link PanelKernels}) runs a 16-row decode step's
 * projections about twice as fast as libtorch's f32 GEMM while reading half the bytes, and a single row
 * ({@link #multiplyRow}, {@link RowKernel}) streams the weight faster than libtorch's f16 matvec (BENCHMARKS.md,
 * "What limits these figures", items "Kernels by batch size" and "Batch-1 decode").
 *
 * <p>Needs {@code --add-modules jdk.incubator.vector} on the command line; without it {@link #AVAILABLE} is false
 * and {@link Linear} keeps libtorch's kernels. The JVM property {@code -Dio.flexiserve.vector-gemm=false} turns it
 * off on purpose (to compare). The packed weight lives in a libtorch tensor of the weight's manager, or in a view of
 * a file mapping ({@link PackedWeightCache}).
 *
 * <p>Work is split by panels over the calling thread and {@link GemmHelpers#shared()}; products too small to be
 * worth a hand-off run on the caller alone.
 */
public final class VectorGemm {

    private static final Logger LOG = Logger.getLogger(VectorGemm.class);

    /** Whether the Vector API is on the module path, wide enough (8+ float lanes), and not turned off. */
    public static final boolean AVAILABLE = available();

    /** Rows multiplied per pass; a pass reads every panel once (from memory) and its rows from cache. */
    static final int ROW_CHUNK = 64;

    /** Multiply-adds below which a product runs on the calling thread alone. */
    static final long PARALLEL_MIN_MACS = 1L << 20;

    private final WeightFormat format;
    private final NDArray storage; // the packed weight, owned (and freed) by the weight's manager
    private final ByteBuffer packed; // a view of storage's memory
    private final PanelLayout.Packing packing; // F16 only: how the halves widen
    private final boolean natively; // whether NativeKernels multiply it: q8, q4 and f16 weights in a direct buffer
    private final int out;
    private final int in;

    private VectorGemm(WeightFormat format, NDArray storage, ByteBuffer packed, PanelLayout.Packing packing, int out,
                       int in) {
        this(format, storage, packed, packing, out, in,
                NativeKernels.AVAILABLE && packed.isDirect() && format != WeightFormat.F32);
    }

    private VectorGemm(WeightFormat format, NDArray storage, ByteBuffer packed, PanelLayout.Packing packing, int out,
                       int in, boolean natively) {
        this.format = format;
        this.storage = storage;
        this.packed = packed;
        this.packing = packing;
        this.natively = natively;
        this.out = out;
        this.in = in;
    }

    /**
     * Whether {@link #pack} takes this weight: the Vector API is available, and the weight is a (contiguous) f16 or f32
     * CPU matrix whose packed form fits a Java buffer.
     */
    public static boolean accepts(NDArray weight) {
        return accepts(weight, exactFormat(weight));
    }

    /**
     * As {@link #accepts(NDArray)} for {@code format}: f32 takes an f32 weight, the others an f16 one; a quantized
     * format also needs whole blocks along the input.
     */
    public static boolean accepts(NDArray weight, WeightFormat format) {
        Shape shape = weight.getShape();
        DataType source = format == WeightFormat.F32 ? DataType.FLOAT32 : DataType.FLOAT16;
        if (!AVAILABLE || weight.getDataType() != source || weight.getDevice().isGpu() || shape.dimension() != 2) {
            return false;
        }
        int in = (int) shape.get(1);
        return (!format.quantized() || in % QuantLayout.block(format) == 0)
                && packedBytes(format, (int) shape.get(0), in) <= Integer.MAX_VALUE;
    }

    /** The format that holds a weight's values exactly: f32 for an f32 weight, else f16. */
    private static WeightFormat exactFormat(NDArray weight) {
        return weight.getDataType() == DataType.FLOAT32 ? WeightFormat.F32 : WeightFormat.F16;
    }

    /** Bytes of an {@code (out, in)} weight stored as {@code format}. */
    private static long packedBytes(WeightFormat format, int out, int in) {
        if (format == WeightFormat.F32) {
            return FloatPanels.packedBytes(out, in);
        }
        return format == WeightFormat.F16 ? PanelLayout.packedBytes(out, in) : QuantLayout.packedBytes(format, out, in);
    }

    /** Packs an f16 or f32 {@code (out, in)} CPU weight in its own precision; see {@link #pack(NDArray, WeightFormat)}. */
    public static VectorGemm pack(NDArray weight) {
        return pack(weight, exactFormat(weight));
    }

    /**
     * Packs (or quantizes) an f16 {@code (out, in)} CPU weight, or an f32 one as {@link WeightFormat#F32}, into a tensor of
     * the weight's manager; the weight is left as it is.
     */
    public static VectorGemm pack(NDArray weight, WeightFormat format) {
        if (!accepts(weight, format)) {
            throw new IllegalArgumentException(AVAILABLE ? "not packable as " + format.label() + ": "
                    + weight.getDataType() + " " + weight.getShape() + " on " + weight.getDevice()
                    : "the Vector API is not available");
        }
        int out = (int) weight.getShape().get(0);
        int in = (int) weight.getShape().get(1);
        long bytes = packedBytes(format, out, in);
        // uninitialised: packing writes every byte, the last pair's padding columns included
        NDArray storage = weight.getManager().create(new Shape(bytes), DataType.INT8);
        KernelsCompiled.ensure();
        ByteBuffer packed = storage.toByteBuffer(true).order(PanelLayout.ORDER); // a view of its memory
        ByteBuffer source = weight.toByteBuffer(true).order(ByteOrder.nativeOrder()); // a view
        PanelLayout.Packing packing = null;
        if (format == WeightFormat.F32) {
            FloatPanels.pack(source.asFloatBuffer(), out, in, packed);
        } else if (format == WeightFormat.F16) {
            packing = PanelLayout.pack(source.asShortBuffer(), out, in, packed);
        } else {
            QuantLayout.pack(format, source.asShortBuffer(), out, in, packed);
        }
        return new VectorGemm(format, storage, packed, packing, out, in);
    }

    /**
     * A weight packed earlier ({@link PackedWeightCache}): {@code storage} holds its bytes as {@link #pack} wrote them
     * for {@code format} and, for f16, exponent {@code bias}.
     */
    static VectorGemm packed(NDArray storage, WeightFormat format, int bias, int out, int in) {
        if (!AVAILABLE || storage.getShape().size() * storage.getDataType().getNumOfBytes() != packedBytes(format, out, in)) {
            throw new IllegalArgumentException("packed " + format.label() + " bytes for " + out + "x" + in + ": "
                    + storage.getShape() + " " + storage.getDataType() + (AVAILABLE ? "" : " (no Vector API)"));
        }
        KernelsCompiled.ensure();
        ByteBuffer packed = storage.toByteBuffer(true).order(PanelLayout.ORDER);
        return new VectorGemm(format, storage, packed, format == WeightFormat.F16 ? PanelLayout.Packing.of(bias) : null,
                out, in);
    }

    /** The f16 exponent bias of the packing (see {@link PanelLayout}); 0 for quantized and f32 weights. */
    int bias() {
        return packing == null ? 0 : packing.bias();
    }

    int out() {
        return out;
    }

    int in() {
        return in;
    }

    /**
     * x: (N, in), any float dtype -> (N, out) in x's dtype and manager. The kernels write whole panels per row and
     * whole row blocks; the result is a view of the first N rows and {@code out} columns.
     */
    public NDArray multiply(NDArray x) {
        int rows = (int) x.getShape().get(0);
        float[] xs = (x.getDataType() == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false)).toFloatArray();
        int stride = PanelLayout.stride(out);
        float[] ys = multiplyPadded(xs, rows);
        NDArray y = x.getManager().create(new Shape(padded(rows), stride), DataType.FLOAT32); // uninitialised
        y.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer().put(ys);
        NDArray result = y;
        if (stride != out || padded(rows) != rows) {
            result = y.get(new NDIndex(":{}, :{}", rows, out));
            y.close();
        }
        return x.getDataType() == DataType.FLOAT32 ? result : result.toType(x.getDataType(), false);
    }

    /**
     * x: (N, in) row-major -> (N, out) row-major, in new arrays. One row takes {@link #multiplyRow}, more the batched
     * kernels; both add each row's products in the same order, so a row's result does not depend on the rows
     * multiplied with it.
     */
    public float[] multiplyRows(float[] x, int rows) {
        if (x.length != rows * in) {
            throw new IllegalArgumentException(x.length + " inputs for " + rows + " rows of " + in);
        }
        if (rows == 1) {
            return multiplyRow(x);
        }
        int stride = PanelLayout.stride(out);
        float[] ys = multiplyPadded(x, rows);
        if (stride == out) {
            return ys.length == rows * out ? ys : Arrays.copyOf(ys, rows * out);
        }
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(ys, r * stride, y, r * out, out);
        }
        return y;
    }

    /** (N, in) -> (padded(N), stride(out)) on the batched kernels, in chunks of {@link #ROW_CHUNK} rows. */
    private float[] multiplyPadded(float[] xs, int rows) {
        int stride = PanelLayout.stride(out);
        float[] ys = new float[padded(rows) * stride];
        if (natively) { // rows as they are: no transposed copy, no padding rows to multiply
            for (int r0 = 0; r0 < rows; r0 += ROW_CHUNK) {
                multiplyNatively(xs, r0 * in, Math.min(ROW_CHUNK, rows - r0), ys, r0 * stride);
            }
            return ys;
        }
        float rowScale = rowScale(); // see PanelKernels: the input carries half the packing's scale
        for (int r0 = 0; r0 < rows; r0 += ROW_CHUNK) {
            int m = Math.min(ROW_CHUNK, rows - r0);
            int mp = padded(m);
            float[] xt = new float[in * mp]; // padding rows stay zero, and so do their outputs
            for (int r = 0; r < m; r++) {
                int src = (r0 + r) * in;
                for (int k = 0; k < in; k++) {
                    xt[k * mp + r] = xs[src + k] * rowScale;
                }
            }
            run(xt, mp, ys, r0 * stride);
        }
        return ys;
    }

    private void run(float[] xt, int rows, float[] y, int yOffset) {
        if (format == WeightFormat.F32) {
            inPanelChunks((long) rows * out * in, (p0, p1) -> FloatPanels.rows(packed, out, in, xt, rows, y, yOffset,
                    p0, p1));
            return;
        }
        if (format.quantized()) {
            inPanelChunks((long) rows * out * in, (p0, p1) -> QuantKernels.rows(format, packed, out, in, xt, rows, y,
                    yOffset, p0 / 2, p1 / 2));
            return;
        }
        float rowScale = rowScale();
        inPanelChunks((long) rows * out * in, (p0, p1) -> PanelKernels.multiply(packed, rowScale, out, in, xt, rows, y,
                yOffset, p0, p1));
    }

    /**
     * This weight (q8, q4 or f16) times {@code rows} rows of {@code x} (row-major from {@code offset}) on the native
     * kernels, into {@code y} from {@code yOffset}, a row every {@link PanelLayout#stride} floats.
     */
    private void multiplyNatively(float[] x, int offset, int rows, float[] y, int yOffset) {
        int bits = format.bits();
        float rowScale = rowScale();
        ByteBuffer scratch = NativeKernels.prepare(bits, x, offset, rows, in, rowScale); // this thread's, only read
        int stride = PanelLayout.stride(out);
        inPanelChunks((long) rows * out * in, (p0, p1) -> NativeKernels.multiplyPrepared(bits, packed, rowScale, in,
                rows, scratch, y, yOffset, stride, p0, p1));
    }

    /** What the f16 kernels scale their input and sums by (see {@link PanelLayout}); 1 for quantized and f32 weights. */
    private float rowScale() {
        return packing == null ? 1f : packing.rowScale();
    }

    /**
     * Runs {@code work} over every panel pair, split into {@link #CHUNKS_PER_THREAD} chunks per thread that the
     * caller and the helpers take in turn, or on the caller alone below {@link #PARALLEL_MIN_MACS}. Taking chunks
     * rather than one half each keeps both cores busy to the end when one of them is held up (by the OS, the JIT
     * or the other's memory traffic): a decode step of the ~1.5B shape ran 1.5-4% faster. A column is always
     * computed whole by one thread, so the split never changes a result.
     */
    private void inPanelChunks(long macs, PanelRange work) {
        int pairs = PanelLayout.panels(out) / 2;
        GemmHelpers helpers = GemmHelpers.shared();
        if (macs < PARALLEL_MIN_MACS || pairs < 2) {
            work.run(0, 2 * pairs);
            return;
        }
        int chunks = Math.min(pairs, CHUNKS_PER_THREAD * helpers.threads());
        AtomicInteger next = new AtomicInteger();
        helpers.run(helpers.threads(), part -> {
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                work.run(2 * (int) ((long) pairs * c / chunks), 2 * (int) ((long) pairs * (c + 1) / chunks));
            }
        });
    }

    /** Chunks of the panels each thread takes in turn. */
    static final int CHUNKS_PER_THREAD = 8;

    /** Work over panels {@code [p0, p1)}, both even. */
    @FunctionalInterface
    private interface PanelRange {
        void run(int p0, int p1);
    }

    /**
     * One row: {@code y = W x}, x: (in) -> y, of at least {@link #paddedOut()} floats, whose first {@code out} are
     * the product (the padding columns come out as zeros). Safe to call from several threads at once.
     */
    void multiplyRow(float[] x, float[] y) {
        if (x.length != in || y.length < paddedOut()) {
            throw new IllegalArgumentException(x.length + " inputs and " + y.length + " outputs for a " + out + "x"
                    + in + " weight");
        }
        if (format == WeightFormat.F32) {
            inPanelChunks((long) out * in, (p0, p1) -> FloatPanels.row(packed, in, x, y, p0, p1));
            return;
        }
        if (format.quantized() && natively) {
            multiplyNatively(x, 0, 1, y, 0);
            return;
        }
        if (format.quantized()) {
            inPanelChunks((long) out * in, (p0, p1) -> QuantKernels.row(format, packed, in, x, y, p0 / 2, p1 / 2));
            return;
        }
        float rowScale = rowScale();
        if (natively) {
            inPanelChunks((long) out * in, (p0, p1) -> NativeKernels.f16Row(packed, rowScale, in, x, y, p0, p1));
            return;
        }
        inPanelChunks((long) out * in, (p0, p1) -> RowKernel.multiply(packed, rowScale, in, x, y, p0, p1));
    }

    /** One row: {@code W x}, x: (in) -> (out), in a new array. */
    float[] multiplyRow(float[] x) {
        float[] y = new float[paddedOut()];
        multiplyRow(x, y);
        return y.length == out ? y : Arrays.copyOf(y, out);
    }

    /** The same weight multiplied by the Java kernels only (to test them, and the native ones, where both run). */
    VectorGemm javaKernels() {
        return new VectorGemm(format, storage, packed, packing, out, in, false);
    }

    /** Whether {@link NativeKernels} multiply this weight (where they run: q8, q4 and f16 weights). */
    boolean natively() {
        return natively;
    }

    /** The output columns rounded up to whole panels: the length {@link #multiplyRow} writes. */
    int paddedOut() {
        return PanelLayout.stride(out);
    }

    /** Whether the weight is stored re-biased (see {@link PanelLayout}): false only for magnitudes of 128 or more. */
    boolean rebiased() {
        return packing != null && packing.bias() == PanelLayout.REBIASED;
    }

    /**
     * Runs the kernels on a small product until C2 has compiled them, once per JVM, with the first packed weight:
     * the Vector API runs far slower interpreted, and the first batched steps of a fresh service would otherwise pay
     * for it (BENCHMARKS.md, "What limits these figures", "Kernel choices").
     */
    private static final class KernelsCompiled {
        static {
            int out = 2 * PanelLayout.PANEL;
            int in = 256;
            ByteBuffer weight = ByteBuffer.allocateDirect((int) FloatPanels.packedBytes(out, in)); // the largest form
            float[] xt = new float[in * 12];
            float[] y = new float[12 * out];
            for (int i = 0; i < 3000; i++) {
                PanelKernels.multiply(weight, 1f, out, in, xt, i % 2 == 0 ? 12 : 4, y, 0, 0, 2); // every kernel
                RowKernel.multiply(weight, 1f, in, xt, y, 0, 2);
                QuantKernels.rows(WeightFormat.Q8, weight, out, in, xt, i % 2 == 0 ? 12 : 4, y, 0, 0, 1);
                QuantKernels.rows(WeightFormat.Q4, weight, out, in, xt, i % 2 == 0 ? 12 : 4, y, 0, 0, 1);
                QuantKernels.row(WeightFormat.Q8, weight, in, xt, y, 0, 1);
                QuantKernels.row(WeightFormat.Q4, weight, in, xt, y, 0, 1);
                FloatPanels.rows(weight, out, in, xt, 12, y, 0, 0, 2);
                FloatPanels.row(weight, in, xt, y, 0, 2);
            }
        }

        static void ensure() {
            // class initialisation above, once
        }
    }

    /** The tensor holding the packed weight. */
    public NDArray storage() {
        return storage;
    }

    /** Rows padded to what the batched kernels block by, a multiple of 4 (the padding rows are zeros). */
    static int padded(int rows) {
        return (rows + 3) & ~3;
    }

    /** How the weight is stored. */
    public WeightFormat format() {
        return format;
    }

    private static boolean available() {
        if (!Boolean.parseBoolean(System.getProperty("io.flexiserve.vector-gemm", "true"))) {
            return false;
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            LOG.info("jdk.incubator.vector is not on the module path (java --add-modules jdk.incubator.vector): "
                    + "CPU weights use libtorch's kernels (f16 ones do not batch)");
            return false;
        }
        int lanes = PanelLayout.LANES;
        if (lanes < 8) {
            LOG.infof("the CPU's preferred vectors hold %d floats; CPU weights use libtorch's kernels", lanes);
            return false;
        }
        return true;
    }
}
