package io.flexiserve.model.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.flexiserve.model.Products;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The 8- and 4-bit weights ({@link QuantLayout}, {@link QuantKernels}): what a weight quantizes to, and every kernel
 * against a product in doubles of those dequantized weights.
 */
class QuantizedGemmTest {

    private final Random random = new Random(23);
    private NDManager manager;

    @BeforeEach
    void open() {
        assumeTrue(VectorGemm.AVAILABLE, "the Vector API is needed (and 8+ float lanes)");
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    /**
     * The weights the kernels multiply by, read back through the one-row kernel with unit inputs, lie within half a
     * step (a whole one where Q4 clamps the opposite extreme) of the f16 weights, and each block uses at most the
     * format's levels of one scale.
     */
    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q8", "Q4"})
    void weightsQuantizeWithinHalfAStepOnAtMostTheFormatsLevels(WeightFormat format) {
        int out = PanelLayout.PANEL * 2 + 7;
        int block = QuantLayout.block(format);
        int in = 3 * block;
        float[] values = Products.gaussian(random, out * in, 0.02);
        Arrays.fill(values, 0, block, 0f); // a block of zeros in column 0
        values[in + 5] = 3f; // an outlier in column 1's first block
        NDArray half = manager.create(values, new Shape(out, in)).toType(DataType.FLOAT16, false);
        float[] w = half.toType(DataType.FLOAT32, false).toFloatArray();
        VectorGemm gemm = VectorGemm.pack(half, format);
        float[] deq = dequantized(gemm, out, in);
        int levels = 1 << format.bits();
        for (int c = 0; c < out; c++) {
            for (int b = 0; b < in / block; b++) {
                double extreme = 0;
                Set<Float> used = new HashSet<>();
                for (int k = b * block; k < (b + 1) * block; k++) {
                    extreme = Math.max(extreme, Math.abs(w[c * in + k]));
                    used.add(deq[c * in + k]);
                }
                double step = extreme / (format == WeightFormat.Q8 ? 127 : 8) * (1 + 0x1p-7);
                double allowed = format == WeightFormat.Q8 ? step / 2 : step;
                for (int k = b * block; k < (b + 1) * block; k++) {
                    double error = Math.abs(deq[c * in + k] - w[c * in + k]);
                    assertTrue(error <= allowed, "column " + c + ", input " + k + ": " + w[c * in + k] + " became "
                            + deq[c * in + k]);
                }
                assertTrue(used.size() <= levels, used.size() + " levels in column " + c + ", block " + b);
            }
        }
        for (int k = 0; k < block; k++) {
            assertEquals(0f, deq[k], "a block of zeros stays zeros");
        }
        assertEquals(format == WeightFormat.Q8 ? 64 : 32, block, "q8 in blocks of 64 (an AMX product's K), q4 of 32");
        assertEquals(3f, deq[in + 5], 3f / 127, "the outlier sets its block's scale and keeps its value");
    }

    /** Every row count (the one-row kernel, the batched ones, padded rows, 64-row chunks) against doubles. */
    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q8", "Q4"})
    void productsMatchDoublesOfTheDequantizedWeightsAtEveryRowCount(WeightFormat format) {
        int panel = PanelLayout.PANEL;
        int block = QuantLayout.block(format);
        // {out, in}: one column, one block; a pair and a bit, two blocks; enough pairs to be split over the helpers,
        // an odd pair count
        for (int[] shape : new int[][] {{1, block}, {2 * panel + 3, 2 * block}, {37 * panel + 5, 1024}}) {
            int out = shape[0];
            int in = shape[1];
            NDArray half = manager.create(Products.gaussian(random, out * in, 0.02), new Shape(out, in))
                    .toType(DataType.FLOAT16, false);
            VectorGemm packed = VectorGemm.pack(half, format);
            assertEquals(format, packed.format());
            float[] deq = dequantized(packed, out, in);
            for (VectorGemm gemm : kernels(packed)) {
                String what = format + (gemm.natively() ? " native " : " Java ") + out + "x" + in;
                for (int rows : new int[] {1, 2, 5, 8, 9, 16, 64, 70}) {
                    float[] x = Products.gaussian(random, rows * in, 1);
                    float[] y = gemm.multiply(manager.create(x, new Shape(rows, in))).toFloatArray();
                    assertProduct(gemm, y, x, deq, rows, out, in, what + ", " + rows + " rows");
                }
                float[] row = new float[gemm.paddedOut()];
                Arrays.fill(row, Float.NaN);
                float[] x = Products.gaussian(random, in, 1);
                gemm.multiplyRow(x, row);
                assertProduct(gemm, row, x, deq, 1, out, in, what + ", the one-row kernel");
                for (int c = out; c < row.length; c++) {
                    assertEquals(0f, row[c], "padding column " + c);
                }
            }
        }
    }

    /**
     * Where the CPU has AVX-512 with VNNI and VBMI and the build compiled the library (gcc), the native kernels load
     * and multiply every quantized weight (batches on AMX tiles where the CPU has AMX-INT8): a build or a loader that
     * silently fell back fails here.
     */
    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q8", "Q4", "F16"})
    void theNativeKernelsRunWhereTheCpuAndTheBuildHaveThem(WeightFormat format) throws IOException {
        String flags = Files.readString(Path.of("/proc/cpuinfo"));
        boolean cpu = PanelLayout.LANES == 16 && flags.contains(" avx512_vnni") && flags.contains(" avx512vbmi");
        boolean built = NativeKernels.class.getResource(NativeKernels.RESOURCE) != null;
        assumeTrue(cpu && built, "this CPU or this build has no native kernels");
        assertTrue(NativeKernels.AVAILABLE, "the library is built and the CPU has VNNI and VBMI, yet it did not load");
        assertEquals(flags.contains(" amx_int8") && flags.contains(" amx_tile"), NativeKernels.AMX,
                "AMX-INT8 is used exactly where the CPU has it");
        VectorGemm gemm = VectorGemm.pack(manager.zeros(new Shape(8, 64), DataType.FLOAT16), format);
        assertTrue(gemm.natively());
        assertFalse(gemm.javaKernels().natively());
    }

    /** The one-row and the batched kernels add the same products in the same order: batching never changes a row. */
    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q8", "Q4"})
    void aRowsProductHasTheSameBitsAloneAndAmongOtherRows(WeightFormat format) {
        int out = 3 * PanelLayout.PANEL + 5;
        int in = 320;
        VectorGemm gemm = VectorGemm.pack(manager.create(Products.gaussian(random, out * in, 0.02), new Shape(out, in))
                .toType(DataType.FLOAT16, false), format);
        for (VectorGemm kernels : kernels(gemm)) {
            for (int rows : new int[] {2, 5, 8, 13, 16, 70}) { // 70: a 64-row chunk and a padded one
                float[] x = Products.gaussian(random, rows * in, 1);
                float[] together = kernels.multiplyRows(x, rows);
                for (int r = 0; r < rows; r++) {
                    float[] alone = kernels.multiplyRows(Arrays.copyOfRange(x, r * in, (r + 1) * in), 1);
                    assertArrayEquals(alone, Arrays.copyOfRange(together, r * out, (r + 1) * out),
                            (kernels.natively() ? "native, " : "Java, ") + "row " + r + " of " + rows);
                }
            }
        }
    }

    /** The native kernels read buffers by address: one that is not direct is refused with an exception, not read. */
    @Test
    void theNativeKernelsRefuseAHeapBufferRatherThanReadIt() {
        assumeTrue(NativeKernels.AVAILABLE, "no native kernels here");
        int in = 64;
        ByteBuffer heap = ByteBuffer.allocate(4096);
        float[] y = new float[PanelLayout.PANEL * 2];
        for (int bits : new int[] {8, 4, 16}) {
            ByteBuffer scratch = NativeKernels.prepare(bits, new float[2 * in], 0, 2, in, 1f);
            assertThrows(IllegalArgumentException.class, () -> NativeKernels.multiplyPrepared(bits, heap, 1f, in, 2,
                    scratch, new float[2 * y.length], 0, y.length, 0, 2), bits + "-bit weight in a heap buffer");
            assertThrows(IllegalArgumentException.class, () -> NativeKernels.prepare(bits, new float[in], 0, 2, in, 1f),
                    "two rows of an array holding one");
        }
        assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.f16Row(heap, 1f, in, new float[in], y, 0, 2));
    }

    /** The Java kernels, and the native ones where they run. */
    static List<VectorGemm> kernels(VectorGemm gemm) {
        return gemm.natively() ? List.of(gemm.javaKernels(), gemm) : List.of(gemm);
    }

    /**
     * The Java kernels multiply within float rounding of a product in doubles (1e-5 here). The native ones quantize
     * each row's input to 16 bits per block (the weight's) first ({@link NativeKernels}): an input moves by at most
     * half its block's step, {@code max|x_b| / 65534}, so a column's sum moves by at most that times the magnitudes
     * of its weights in the block, summed over blocks, and by no more than float rounding besides.
     */
    static void assertProduct(VectorGemm gemm, float[] y, float[] x, float[] w, int rows, int out, int in,
                              String what) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < out; c++) {
                double exact = 0;
                double allowed = 1e-5;
                int block = QuantLayout.block(gemm.format());
                for (int b = 0; b < in / block; b++) {
                    double largest = 0;
                    double weights = 0;
                    for (int k = b * block; k < (b + 1) * block; k++) {
                        exact += (double) x[r * in + k] * w[c * in + k];
                        largest = Math.max(largest, Math.abs(x[r * in + k]));
                        weights += Math.abs(w[c * in + k]);
                    }
                    if (gemm.natively()) {
                        allowed += largest / 65534 * weights * (1 + 1e-3);
                    }
                }
                double error = Math.abs(y[r * out + c] - exact);
                assertTrue(error <= allowed, what + ": row " + r + ", column " + c + ": error " + error + " above "
                        + allowed);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q8", "Q4"})
    void aWeightWithoutWholeBlocksOrNotF16IsNotTaken(WeightFormat format) {
        int block = QuantLayout.block(format);
        assertFalse(VectorGemm.accepts(manager.zeros(new Shape(8, 3 * block / 2), DataType.FLOAT16), format),
                "1.5 blocks");
        assertFalse(VectorGemm.accepts(manager.zeros(new Shape(8, 2 * block), DataType.FLOAT32), format), "f32");
        assertTrue(VectorGemm.accepts(manager.zeros(new Shape(8, 2 * block), DataType.FLOAT16), format));
        assertTrue(VectorGemm.accepts(manager.zeros(new Shape(8, 48), DataType.FLOAT16), WeightFormat.F16));
    }

    /** W as the kernels hold it, (out, in): the one-row kernel's product with each unit vector is a column of W^T. */
    private static float[] dequantized(VectorGemm gemm, int out, int in) {
        float[] w = new float[out * in];
        float[] unit = new float[in];
        float[] y = new float[gemm.paddedOut()];
        for (int k = 0; k < in; k++) {
            unit[k] = 1;
            gemm.multiplyRow(unit, y);
            unit[k] = 0;
            for (int c = 0; c < out; c++) {
                w[c * in + k] = y[c];
            }
        }
        return w;
    }
}
