package io.flexiserve.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each building block against a naive float-array computation written here (tolerances stated per test). */
class OpsTest {

    private final Random random = new Random(3);
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void rmsNormMatchesDefinition() {
        float[] x = gaussian(3 * 16, 2);
        float[] w = gaussian(16, 1);
        float[] out = new RmsNorm(manager.create(w), 1e-5).forward(manager.create(x, new Shape(3, 16))).toFloatArray();
        for (int r = 0; r < 3; r++) {
            double sq = 0;
            for (int i = 0; i < 16; i++) {
                sq += x[r * 16 + i] * x[r * 16 + i];
            }
            double inv = 1 / Math.sqrt(sq / 16 + 1e-5);
            for (int i = 0; i < 16; i++) {
                assertEquals(x[r * 16 + i] * inv * w[i], out[r * 16 + i], 1e-5, "row " + r + " col " + i);
            }
        }
    }

    @Test
    void ropeRotatesHalvesAtEveryPositionPlainAndLlama3Scaled() {
        for (RopeScaling scaling : new RopeScaling[] {null, new RopeScaling(8, 1, 4, 256)}) {
            ModelConfig config = TestCheckpoints.config(List.of(), scaling);
            Rope rope = new Rope(manager, config, 4096, DataType.FLOAT32);
            long[] positions = {0, 1, 7, 300, 4095};
            int heads = 2;
            int dh = config.headDim();
            float[] x = gaussian(positions.length * heads * dh, 1);
            NDArray in = manager.create(x, new Shape(positions.length, heads, dh));
            float[] out = rope.apply(in, rope.at(manager.create(positions))).toFloatArray();
            for (int r = 0; r < positions.length; r++) {
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < dh / 2; i++) {
                        double angle = positions[r] * inverseFrequency(config, i);
                        int base = (r * heads + h) * dh;
                        double a = x[base + i];
                        double b = x[base + dh / 2 + i];
                        // float32 angles at position 4095 carry ~3e-4 rad of rounding, as HF's float32 tables do
                        assertEquals(a * Math.cos(angle) - b * Math.sin(angle), out[base + i], 2e-3, "first half " + i);
                        assertEquals(b * Math.cos(angle) + a * Math.sin(angle), out[base + dh / 2 + i], 2e-3, "second half " + i);
                    }
                }
            }
        }
    }

    @Test
    void llama3ScalingKeepsHighFrequenciesAndDividesLowOnes() {
        RopeScaling s = new RopeScaling(8, 1, 4, 8192);
        assertEquals(0.5f, s.apply(0.5f), 0f, "wavelength 12.6 < 2048: kept");
        float low = (float) (2 * Math.PI / 10000);
        assertEquals(low / 8, s.apply(low), 1e-12, "wavelength 10000 > 8192: divided by the factor");
    }

    @Test
    void swiGluIsOutOfSiluGateTimesValue() {
        float[] gate = gaussian(8 * 4, 0.5);
        float[] value = gaussian(8 * 4, 0.5);
        float[] out = gaussian(4 * 8, 0.5);
        float[] x = gaussian(2 * 4, 1);
        SwiGlu block = new SwiGlu(linear(gate, 8, 4), linear(value, 8, 4), linear(out, 4, 8));
        float[] y = block.forward(manager.create(x, new Shape(2, 4))).toFloatArray();
        for (int r = 0; r < 2; r++) {
            double[] row = {x[r * 4], x[r * 4 + 1], x[r * 4 + 2], x[r * 4 + 3]};
            double[] expected = NaiveModel.swiglu(gate, value, out, row, 8);
            for (int i = 0; i < 4; i++) {
                assertEquals(expected[i], y[r * 4 + i], 1e-5);
            }
        }
    }

    @Test
    void routerGateFollowsSpecAndPremultipliedHeadAgrees() {
        int d = 32;
        int r = 4;
        float[] enc = gaussian(r * d, 0.2);
        float[] norm = gaussian(r, 1);
        float[] dec = gaussian(d * r, 0.2);
        float[] head = gaussian(d, 0.2);
        float[] h = gaussian(3 * d, 1);
        Router router = new Router(linear(enc, r, d), new RmsNorm(manager.create(norm), 1e-5), linear(dec, d, r), linear(head, 1, d));
        NDArray input = manager.create(h, new Shape(3, d));
        float[] w = router.forward(input).toFloatArray();
        float[] premultiplied = router.premultiplied().forward(input).toFloatArray();
        for (int row = 0; row < 3; row++) {
            double[] hr = new double[d];
            for (int i = 0; i < d; i++) {
                hr[i] = h[row * d + i];
            }
            double[] z = NaiveModel.matvec(enc, hr, r);
            double sq = 0;
            for (double v : z) {
                sq += v * v;
            }
            double inv = 1 / Math.sqrt(sq / r + 1e-5);
            for (int i = 0; i < r; i++) {
                z[i] = Math.tanh(z[i] * inv * norm[i]); // norm first, then tanh
            }
            double logit = NaiveModel.matvec(head, NaiveModel.matvec(dec, z, d), 1)[0];
            double expected = 1 / (1 + Math.exp(-logit));
            assertEquals(expected, w[row], 1e-6, "gate of row " + row);
            assertEquals(w[row], premultiplied[row], 1e-5, "premultiplied W_head W_dec, row " + row);
        }
    }

    @Test
    void linearUsesTheHfOutInLayout() {
        float[] weight = {1, 2, 3, 4, 5, 6}; // (out 2, in 3)
        float[] y = linear(weight, 2, 3).forward(manager.create(new float[] {1, 0, -1}, new Shape(1, 3))).toFloatArray();
        assertEquals(-2f, y[0]);
        assertEquals(-2f, y[1]);
    }

    private static double inverseFrequency(ModelConfig config, int i) {
        double f = Math.pow(config.ropeTheta(), -2.0 * i / config.headDim());
        RopeScaling s = config.ropeScaling();
        if (s == null) {
            return f;
        }
        double wavelen = 2 * Math.PI / f;
        if (wavelen < s.originalMaxPositions() / s.highFreqFactor()) {
            return f;
        }
        if (wavelen > s.originalMaxPositions() / s.lowFreqFactor()) {
            return f / s.factor();
        }
        double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * f / s.factor() + smooth * f;
    }

    private Linear linear(float[] weight, int out, int in) {
        return new Linear(manager.create(weight, new Shape(out, in)));
    }

    @Test
    void linearComputesXWtWithEveryKernelItPicksByRowCount() {
        int out = 48;
        int in = 32;
        float[] w = gaussian(out * in, 1);
        float[] halfW = manager.create(w, new Shape(out, in)).toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false)
                .toFloatArray();
        Linear f32 = new Linear(manager.create(w, new Shape(out, in)));
        ModelOptions mixed = new ModelOptions(ai.djl.Device.cpu(), DataType.FLOAT32, DataType.FLOAT16, 0, false, 4);
        Linear f16 = Linear.of(manager.create(w, new Shape(out, in)).toType(DataType.FLOAT16, false), mixed, false);
        for (int rows : new int[] {1, 2, 3, 4, 9}) {
            float[] x = gaussian(rows * in, 1);
            NDArray input = manager.create(x, new Shape(rows, in));
            // f32: matvec at one row, W x^T from two
            assertEquals(0, Products.maxError(f32.forward(input), x, w, rows, out, in), 1e-4, rows + " rows, f32");
            // f16 weights without the Vector API: the f16 kernel (f16-rounded activations and output) below 4
            // rows, the f32 copy from 4
            NDArray y = f16.forward(input);
            assertEquals(new Shape(rows, out), y.getShape());
            assertEquals(DataType.FLOAT32, y.getDataType());
            double error = Products.maxError(y, x, halfW, rows, out, in);
            if (rows < 4) {
                assertTrue(error > 1e-4 && error < 0.05, rows + " rows on the f16 kernel: error " + error);
            } else {
                assertTrue(error < 1e-4, rows + " rows on the f32 copy of the f16 weights: error " + error);
            }
        }
    }

    @Test
    void f16WeightWiderThanTheMatvecLikesIsSplitIntoColumnBlocksWithTheSameProduct() {
        ModelOptions mixed = new ModelOptions(ai.djl.Device.cpu(), DataType.FLOAT32, DataType.FLOAT16, 0, false, 4);
        int out = 6;
        int max = (int) Linear.F16_MATVEC_MAX_IN;
        // {columns, blocks}: 8192 splits in two; 8194 does not split evenly into blocks of at most 4096: kept whole
        for (int[] c : new int[][] {{2 * max, 2}, {2 * max + 2, 1}}) {
            int in = c[0];
            float[] w = gaussian(out * in, 1 / Math.sqrt(in));
            NDArray half = manager.create(w, new Shape(out, in)).toType(DataType.FLOAT16, false);
            float[] halfW = half.toType(DataType.FLOAT32, false).toFloatArray();
            Linear linear = Linear.of(half, mixed, false);
            assertEquals(c[1] + 1, linear.stored().size(), in + " columns: the blocks, and the f32 copy");
            for (int rows : new int[] {1, 3, 5}) {
                float[] x = gaussian(rows * in, 1);
                NDArray y = linear.forward(manager.create(x, new Shape(rows, in)));
                double error = Products.maxError(y, x, halfW, rows, out, in);
                // f16 activations and f16 partial results below 4 rows (outputs are about 1); the f32 copy from 4
                assertTrue(error < (rows < 4 ? 0.01 : 1e-4), in + " columns, " + rows + " rows: error " + error);
            }
        }
    }

    private float[] gaussian(int n, double std) {
        return Products.gaussian(random, n, std);
    }
}
