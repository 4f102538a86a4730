package io.flexiserve.model.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.flexiserve.model.Products;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The Java (Vector API) kernels for f16 CPU weights, against products in doubles written here. */
class VectorGemmTest {

    private final Random random = new Random(11);
    private NDManager manager;

    @BeforeEach
    void open() {
        assertTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
                "the build runs tests with --add-modules jdk.incubator.vector");
        assumeTrue(VectorGemm.AVAILABLE, "this CPU's vectors hold fewer than 8 floats");
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"F16", "F32"})
    void productMatchesDoublesAtEveryRowBlockAndRaggedShapes(WeightFormat format) {
        // {out, in}: one column; a panel and a bit; several panels with an odd input width
        for (int[] shape : new int[][] {{1, 1}, {PanelLayout.PANEL + 3, 7}, {3 * PanelLayout.PANEL, 130}}) {
            int out = shape[0];
            int in = shape[1];
            NDArray weight = stored(gaussian(out * in, 1 / Math.sqrt(in)), new Shape(out, in), format);
            float[] w = weight.toType(DataType.FLOAT32, false).toFloatArray();
            VectorGemm packed = VectorGemm.pack(weight);
            assertEquals(format, packed.format(), "packed in the weight's own precision");
            // both kernels (4 and 8 rows; native: 12), padded row counts, and the 64-row chunks with a ragged last one
            for (VectorGemm gemm : QuantizedGemmTest.kernels(packed)) {
                for (int rows : new int[] {1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 25, 64, 65, 70}) {
                    float[] x = gaussian(rows * in, 1);
                    NDArray y = gemm.multiply(manager.create(x, new Shape(rows, in)));
                    assertEquals(new Shape(rows, out), y.getShape());
                    assertEquals(DataType.FLOAT32, y.getDataType());
                    double error = Products.maxError(y.toFloatArray(), x, w, rows, out, in);
                    assertTrue(error < 1e-5, (gemm.natively() ? "native, " : "Java, ") + out + "x" + in + ", "
                            + rows + " rows: error " + error);
                }
            }
        }
    }

    @Test
    void f16WeightsWidenExactlyIncludingZerosSubnormalsAndExtremes() {
        short[] bits = {0x0000, (short) 0x8000, 0x0001, (short) 0x8001, 0x03FF, 0x0400, 0x7BFF, (short) 0xFBFF,
            0x3C00, (short) 0xBE00, 0x3555, 0x1234};
        int in = bits.length;
        int out = PanelLayout.PANEL + 1; // column c holds the values rotated by c
        ByteBuffer raw = ByteBuffer.allocateDirect(out * in * Short.BYTES).order(ByteOrder.nativeOrder());
        for (int c = 0; c < out; c++) {
            for (int k = 0; k < in; k++) {
                raw.putShort((c * in + k) * Short.BYTES, bits[(c + k) % in]);
            }
        }
        NDArray half = manager.create(raw, new Shape(out, in), DataType.FLOAT16);
        float[] expected = half.toType(DataType.FLOAT32, false).toFloatArray(); // libtorch's exact widening
        NDArray identity = manager.eye(in); // row k picks input k
        VectorGemm gemm = VectorGemm.pack(half);
        assertTrue(!gemm.rebiased(), "65504 does not fit the re-biased codes: IEEE halves");
        float[] got = gemm.multiply(identity).toFloatArray(); // (in, out): W^T
        for (int c = 0; c < out; c++) {
            for (int k = 0; k < in; k++) {
                float e = expected[c * in + k];
                float g = got[k * out + c];
                assertTrue(e == g, "column " + c + ", input " + k + ": f16 bits 0x"
                        + Integer.toHexString(bits[(c + k) % in] & 0xffff) + " widened to " + g + ", not " + e);
            }
        }
    }

    @Test
    void everyF16ValueBelow128IsStoredRebiasedAndWidensExactly() {
        // every f16 bit pattern whose exponent field is at most 21 (|w| < 128): zeros, all subnormals, both signs
        List<Short> patterns = new ArrayList<>();
        for (int bits = 0; bits < 0x10000; bits++) {
            if (((bits >>> 10) & 0x1F) <= 21) {
                patterns.add((short) bits);
            }
        }
        int in = 1024;
        int out = (patterns.size() + in - 1) / in;
        ByteBuffer raw = ByteBuffer.allocateDirect(out * in * Short.BYTES).order(ByteOrder.nativeOrder());
        for (int i = 0; i < patterns.size(); i++) {
            raw.putShort(i * Short.BYTES, patterns.get(i));
        }
        NDArray half = manager.create(raw, new Shape(out, in), DataType.FLOAT16);
        float[] expected = half.toType(DataType.FLOAT32, false).toFloatArray(); // libtorch's exact widening
        VectorGemm gemm = VectorGemm.pack(half);
        assertTrue(gemm.rebiased(), "magnitudes below 128 are stored re-biased");
        float[] batched = gemm.multiply(manager.eye(in)).toFloatArray(); // (in, out): W^T
        float[] column = new float[gemm.paddedOut()];
        for (int k = 0; k < in; k++) {
            float[] unit = new float[in];
            unit[k] = 1;
            gemm.multiplyRow(unit, column);
            for (int c = 0; c < out; c++) {
                float e = expected[c * in + k];
                String where = "f16 bits 0x" + Integer.toHexString(raw.getShort((c * in + k) * Short.BYTES) & 0xffff);
                assertTrue(e == batched[k * out + c], where + ": batched kernel gave " + batched[k * out + c]);
                assertTrue(e == column[c], where + ": row kernel gave " + column[c] + ", not " + e);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"F16", "F32"})
    void rowProductMatchesDoublesForRaggedPanelCountsAndSplitsOverTheHelpers(WeightFormat format) {
        // {out, in}: one column; a panel and a bit; an odd panel count; big enough to be split, odd and even
        int panel = PanelLayout.PANEL;
        for (int[] shape : new int[][] {{1, 1}, {panel + 3, 7}, {3 * panel, 130}, {37 * panel + 5, 1024},
            {40 * panel, 1024}}) {
            int out = shape[0];
            int in = shape[1];
            NDArray weight = stored(gaussian(out * in, 0.02), new Shape(out, in), format);
            float[] w = weight.toType(DataType.FLOAT32, false).toFloatArray();
            VectorGemm gemm = VectorGemm.pack(weight);
            float[] x = gaussian(in, 1);
            float[] y = new float[gemm.paddedOut() + 3];
            java.util.Arrays.fill(y, Float.NaN); // every column the kernel owns is written, padding as zeros
            gemm.multiplyRow(x, y);
            double error = Products.maxError(y, x, w, 1, out, in);
            assertTrue(error < 1e-5, out + "x" + in + ": error " + error);
            for (int c = out; c < gemm.paddedOut(); c++) {
                assertEquals(0f, y[c], "padding column " + c);
            }
        }
        VectorGemm gemm = VectorGemm.pack(stored(new float[32], new Shape(4, 8), format));
        assertThrows(IllegalArgumentException.class, () -> gemm.multiplyRow(new float[7], new float[gemm.paddedOut()]));
        assertThrows(IllegalArgumentException.class, () -> gemm.multiplyRow(new float[8], new float[4]));
    }

    /**
     * The native f16 row kernel widens and adds as {@link RowKernel} does: the same bits, for re-biased weights and
     * for IEEE ones (a weight of magnitude 128 or more), ragged shapes, and split over the helpers.
     */
    @Test
    void theNativeF16RowKernelGivesTheJavaKernelsBits() {
        int panel = PanelLayout.PANEL;
        for (int[] shape : new int[][] {{1, 1}, {panel + 3, 7}, {37 * panel + 5, 1024}}) {
            for (boolean large : new boolean[] {false, true}) {
                int out = shape[0];
                int in = shape[1];
                float[] values = gaussian(out * in, 0.02);
                if (large) {
                    values[0] = 300f; // packed with IEEE f16 bits, not re-biased
                }
                VectorGemm gemm = VectorGemm.pack(stored(values, new Shape(out, in), WeightFormat.F16));
                assumeTrue(gemm.natively(), "no native kernels here");
                assertEquals(!large, gemm.rebiased());
                float[] x = gaussian(in, 1);
                float[] y = new float[gemm.paddedOut()];
                float[] java = new float[gemm.paddedOut()];
                gemm.multiplyRow(x, y);
                gemm.javaKernels().multiplyRow(x, java);
                assertArrayEquals(java, y, out + "x" + in + (large ? ", IEEE bits" : ", re-biased"));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"F16", "F32"})
    void aRowsProductHasTheSameBitsAloneAndAmongOtherRows(WeightFormat format) {
        int out = 3 * PanelLayout.PANEL + 5;
        int in = 300;
        VectorGemm gemm = VectorGemm.pack(stored(gaussian(out * in, 0.02), new Shape(out, in), format));
        for (VectorGemm kernels : QuantizedGemmTest.kernels(gemm)) {
            for (int rows : new int[] {2, 5, 8, 13, 70}) {
                float[] x = gaussian(rows * in, 1);
                float[] together = kernels.multiplyRows(x, rows);
                assertEquals(rows * out, together.length);
                for (int r = 0; r < rows; r++) {
                    float[] alone = kernels.multiplyRows(java.util.Arrays.copyOfRange(x, r * in, (r + 1) * in), 1);
                    assertArrayEquals(alone, java.util.Arrays.copyOfRange(together, r * out, (r + 1) * out),
                            (kernels.natively() ? "native, " : "Java, ") + "row " + r + " of " + rows);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> gemm.multiplyRows(new float[in + 1], 1));
    }

    @Test
    void concurrentCallersEachGetTheirOwnProduct() throws Exception {
        int out = 2 * PanelLayout.PANEL;
        int in = 1024; // large enough to be split over the helpers
        List<CompletableFuture<Double>> errors = new ArrayList<>();
        for (int caller = 0; caller < 3; caller++) {
            NDArray half = manager.create(gaussian(out * in, 0.05), new Shape(out, in)).toType(DataType.FLOAT16, false);
            float[] w = half.toType(DataType.FLOAT32, false).toFloatArray();
            VectorGemm gemm = VectorGemm.pack(half);
            float[] x = gaussian(16 * in, 1);
            errors.add(CompletableFuture.supplyAsync(() -> {
                double worst = 0;
                try (NDManager local = NDManager.newBaseManager()) {
                    for (int i = 0; i < 30; i++) {
                        float[] y = gemm.multiply(local.create(x, new Shape(16, in))).toFloatArray();
                        worst = Math.max(worst, Products.maxError(y, x, w, 16, out, in));
                    }
                }
                return worst;
            }));
        }
        for (CompletableFuture<Double> error : errors) {
            assertTrue(error.get() < 1e-4, "error " + error.get());
        }
    }

    @Test
    void aFailingPartIsRethrownAfterEveryPartEndedAndTheHelpersStayUsable() {
        GemmHelpers helpers = new GemmHelpers(2, "test-gemm");
        AtomicInteger finished = new AtomicInteger();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> helpers.run(3, part -> {
            if (part == 2) {
                throw new IllegalStateException("part 2 failed");
            }
            sleep(50);
            finished.incrementAndGet();
        }));
        assertEquals("part 2 failed", e.getMessage());
        assertEquals(2, finished.get(), "the other parts ran to their end before run returned");
        int[] seen = new int[3];
        helpers.run(3, part -> seen[part]++);
        assertEquals(List.of(1, 1, 1), List.of(seen[0], seen[1], seen[2]));
        assertThrows(IllegalArgumentException.class, () -> helpers.run(4, part -> { }));
    }

    /** The values as a weight stored in {@code format}'s precision: f32 as they are, f16 rounded. */
    private NDArray stored(float[] values, Shape shape, WeightFormat format) {
        NDArray weight = manager.create(values, shape);
        return format == WeightFormat.F32 ? weight : weight.toType(DataType.FLOAT16, false);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private float[] gaussian(int n, double std) {
        return Products.gaussian(random, n, std);
    }
}
