package io.flexiserve.model.cpu;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.jboss.logging.Logger;

/**
 * FlexiServe's native kernels (src/main/c/flexikernels.c, built by {@code mvn package} where gcc is found), for the
 * CPUs the Java kernels serve worst: AVX-512 with VNNI and VBMI (Intel from Ice Lake and Sapphire Rapids on, AMD
 * from Zen 4). There they multiply {@link WeightFormat#Q8} and {@link WeightFormat#Q4} weights, one row or many, and
 * {@link WeightFormat#F16} weights, one row or many, reading the same packed bytes as the Java kernels; elsewhere, or
 * with {@code -Dio.flexiserve.native-kernels=false}, the Java kernels run.
 *
 * <p>Why: on an Intel host the Vector API kernels of JDK 17 are bound by their own instructions at about half the
 * memory's speed (docs/djl-traps.md, traps 20 and 22), and the Vector API cannot express int8 products. The
 * quantized kernels here quantize each row's input to 16 bits per block of the weight's (a scale per block) and sum
 * products of codes with VPDPBUSD, 64 to an instruction, twice (the input's high bytes, then its low bytes); a weight's
 * columns then read at the memory's speed. Their results differ from the Java kernels' by that rounding of the input
 * (a 65534th of a block's largest input at most; {@code QuantizedGemmTest} bounds every product by it), and every
 * row, alone or batched, is multiplied the same way, so a row's result never depends on the rows beside it; batches
 * of 8 rows or more run on AMX tiles where the CPU has AMX-INT8 ({@link #AMX}), with the same exact integer sums.
 * The f16 kernels widen and add exactly as {@link RowKernel} does: the same bits, one row or many.
 *
 * <p>Two more kernels serve the Java forward path (src/main/c/flexiattention.c): causal attention for the rows of
 * a chunk ({@link #attend}: one KV head of one sequence; a prompt chunk's keys transposed once and queries scored 16
 * at a time, a decoded row's keys and values read in place; softmax and the weighted values in f32; no score tensor)
 * and the SwiGLU gate ({@link #siluTimes}, e^x by a vectorised polynomial rather than one {@code Math.exp} per
 * element). A query's result depends only on its own row and the cache, so a row gets the same bits in any chunk,
 * prefilled or decoded. The cache may hold its keys and values in f16 ({@link #storeHalves} writes them), widened
 * to f32 as the kernel loads them.
 *
 * <p>Calls go through JNI with the packed weight's direct buffer and the Java arrays pinned for the call
 * ({@code GetPrimitiveArrayCritical}: HotSpot hands out the array itself, so threads writing disjoint columns of one
 * output at once is safe).
 */
public final class NativeKernels {

    private static final Logger LOG = Logger.getLogger(NativeKernels.class);

    /** The library inside the application's jar. */
    static final String RESOURCE = "/native/linux-x86_64/libflexikernels.so";

    /** Whether the kernels run here: the library loaded, this CPU has what they use, and the layouts are AVX-512's. */
    public static final boolean AVAILABLE = load();

    /** Whether quantized batches of 8+ rows run on AMX tiles: the CPU has AMX-INT8 and Linux allowed its use. */
    public static final boolean AMX = AVAILABLE && amx();

    /** A per-thread buffer for quantized inputs, grown as needed (a caller's chunks all read its own). */
    private static final ThreadLocal<ByteBuffer> SCRATCH = new ThreadLocal<>();

    /** Each thread's scratch for {@link #attend}: a sequence's keys transposed, and a group of queries' scores. */
    private static final ThreadLocal<ByteBuffer> ATTENTION_SCRATCH = new ThreadLocal<>();

    private NativeKernels() {
    }

    /** Which kernels multiply packed CPU weights, for the log and the bench's report. */
    public static String describe() {
        return AVAILABLE ? "native AVX-512 VNNI kernels where they serve (q8/q4 at every row count" + (AMX
                ? ", batches of 8+ rows on AMX tiles" : "") + "; f16 at every row count) and the Java Vector API kernels"
                + " otherwise" : "Java Vector API kernels";
    }

    /**
     * Prepares {@code rows} rows of {@code x} ({@code in} inputs each, row-major from {@code offset}) for a weight
     * of {@code bits} (8 or 4: quantized to 16 bits per block; 16, f16: times {@code rowScale}, in blocks of rows)
     * in this thread's scratch, which is returned and which {@link #multiplyPrepared} reads.
     */
    static ByteBuffer prepare(int bits, float[] x, int offset, int rows, int in, float rowScale) {
        if (offset < 0 || (long) offset + (long) rows * in > x.length) {
            throw new IllegalArgumentException(rows + " rows of " + in + " from " + offset + " in " + x.length);
        }
        long bytes = preparedBytes(bits, rows, in);
        ByteBuffer scratch = SCRATCH.get();
        if (scratch == null || scratch.capacity() < bytes) {
            scratch = ByteBuffer.allocateDirect((int) Math.max(bytes, 64 * 1024));
            SCRATCH.set(scratch);
        }
        prepare(bits, x, offset, rows, in, rowScale, scratch);
        return scratch;
    }

    private static native long preparedBytes(int bits, int rows, int in);

    /** Whether {@link #attend} takes attention heads of this size. */
    public static boolean attends(int headDim) {
        return AVAILABLE && (headDim == 16 || headDim == 32 || headDim == 64 || headDim == 128);
    }

    /**
     * Causal attention of {@code vectors} query vectors of one sequence that read one KV head: query i (headDim
     * floats of {@code q} from {@code at[i]}, already scaled by 1/sqrt(Dh)) attends to the sequence's positions
     * [0, keysOf[i]), whose cache rows {@code cacheRows} gives, and its context ({@code softmax(q K^T) V}) goes to
     * {@code context} at {@code at[i]}. Keys and values are the cache's rows of {@code rowValues} values, f32 or
     * ({@code halves}) f16, the KV head's from value {@code headAt}. Threads may fill disjoint parts of one context at
     * once.
     *
     * @throws IllegalArgumentException when an index would read or write outside its array or buffer
     */
    public static void attend(ByteBuffer keys, ByteBuffer values, boolean halves, int rowValues, int headAt,
                              int headDim, int[] cacheRows, float[] q, float[] context, int[] at, int[] keysOf,
                              int vectors) {
        if (!attends(headDim) || headAt < 0 || headAt + headDim > rowValues || vectors > at.length
                || vectors > keysOf.length || keys.capacity() != values.capacity()) {
            throw new IllegalArgumentException("heads of " + headDim + " from " + headAt + " in rows of " + rowValues
                    + ", " + vectors + " queries");
        }
        int keyCount = 0;
        for (int i = 0; i < vectors; i++) {
            if (at[i] < 0 || at[i] + headDim > q.length || at[i] + headDim > context.length || keysOf[i] < 1
                    || keysOf[i] > cacheRows.length) {
                throw new IllegalArgumentException("query " + i + " at " + at[i] + " over " + keysOf[i] + " keys");
            }
            keyCount = Math.max(keyCount, keysOf[i]);
        }
        long rows = keys.capacity() / ((long) rowValues * (halves ? Short.BYTES : Float.BYTES));
        for (int t = 0; t < keyCount; t++) {
            if (cacheRows[t] < 0 || cacheRows[t] >= rows) {
                throw new IllegalArgumentException("position " + t + " at cache row " + cacheRows[t] + " of " + rows);
            }
        }
        long bytes = attentionScratchBytes(keyCount, headDim, vectors);
        ByteBuffer scratch = ATTENTION_SCRATCH.get();
        if (scratch == null || scratch.capacity() < bytes) {
            scratch = ByteBuffer.allocateDirect((int) Math.max(bytes, 256 * 1024));
            ATTENTION_SCRATCH.set(scratch);
        }
        attend(keys, values, halves, rowValues, headAt, headDim, cacheRows, q, context, at, keysOf, vectors, scratch);
    }

    /**
     * Values {@code src[from, from + n)} as f16 (rounded to nearest even, as a cast rounds) into {@code dst} from its
     * value {@code index}: how rows go into a cache of f16 keys and values.
     *
     * @throws IllegalArgumentException when either range is out of bounds
     */
    public static void storeHalves(float[] src, int from, int n, ByteBuffer dst, long index) {
        if (from < 0 || n < 0 || n > src.length - from || index < 0 || (index + n) * Short.BYTES > dst.capacity()) {
            throw new IllegalArgumentException(n + " values from " + from + " of " + src.length + " to " + index
                    + " of " + dst.capacity() / Short.BYTES);
        }
        storeHalves0(src, from, n, dst, index);
    }

    /** {@code g[i] = silu(g[i]) * v[i]} for i < n: the gate of a SwiGLU. */
    public static void siluTimes(float[] g, float[] v, int n) {
        if (n < 0 || n > g.length || n > v.length) {
            throw new IllegalArgumentException(n + " gates of " + g.length + " and " + v.length);
        }
        siluTimes0(g, v, n);
    }

    private static native long attentionScratchBytes(int keys, int headDim, int vectors);

    private static native void attend(ByteBuffer keys, ByteBuffer values, boolean halves, int rowValues, int headAt,
                                      int headDim, int[] cacheRows, float[] q, float[] context, int[] at,
                                      int[] keysOf, int vectors, ByteBuffer scratch);

    private static native void storeHalves0(float[] src, int from, int n, ByteBuffer dst, long index);

    private static native void siluTimes0(float[] g, float[] v, int n);

    /** Whether the CPU has the kernels' instructions; also asks Linux for the AMX tile state where there is AMX. */
    private static native boolean supported();

    private static native boolean amx();

    private static native void prepare(int bits, float[] x, int offset, int rows, int in, float rowScale,
                                       ByteBuffer scratch);

    /**
     * {@code y[yOffset + r * stride + c] = sum_k x_r[k] W[c][k]} for the {@code rows} inputs {@link #prepare}
     * left in {@code scratch} and the columns of panels {@code [p0, p1)}, both even, of a weight of {@code bits}
     * (8, 4 or 16; {@code rowScale} is f16's, see {@link PanelLayout}). An f16 row's sums are {@link #f16Row}'s to
     * the bit, and a quantized row's the same alone or among others.
     */
    static native void multiplyPrepared(int bits, ByteBuffer packed, float rowScale, int in, int rows,
                                        ByteBuffer scratch, float[] y, int yOffset, int stride, int p0, int p1);

    /** {@link RowKernel#multiply}, natively: the same arguments, the same result to the bit. */
    static native void f16Row(ByteBuffer packed, float rowScale, int in, float[] x, float[] y, int p0, int p1);

    private static boolean load() {
        if (!Boolean.parseBoolean(System.getProperty("io.flexiserve.native-kernels", "true"))) {
            LOG.info("native kernels turned off (-Dio.flexiserve.native-kernels=false): the Java kernels run");
            return false;
        }
        if (!VectorGemm.AVAILABLE || PanelLayout.LANES != 16) {
            return false; // the packed layouts are the Vector API's; the native kernels read AVX-512's
        }
        String os = System.getProperty("os.name", "") + "/" + System.getProperty("os.arch", "");
        if (!os.equals("Linux/amd64")) {
            return false;
        }
        try (InputStream library = NativeKernels.class.getResourceAsStream(RESOURCE)) {
            if (library == null) {
                LOG.info("this build has no native kernels (gcc was not found by mvn package): the Java kernels run");
                return false;
            }
            Path file = Files.createTempFile("flexikernels", ".so");
            try {
                Files.copy(library, file, StandardCopyOption.REPLACE_EXISTING);
                System.load(file.toString());
            } finally {
                Files.deleteIfExists(file); // the loaded library stays mapped
            }
        } catch (IOException | UnsatisfiedLinkError e) {
            LOG.warnf("the native kernels did not load (%s): the Java kernels run", e.toString());
            return false;
        }
        if (!supported()) {
            LOG.info("this CPU lacks AVX-512 VNNI or VBMI: the Java kernels run");
            return false;
        }
        return true;
    }
}
