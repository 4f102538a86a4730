package io.flexiserve.model.cpu;

import static io.flexiserve.model.cpu.PanelLayout.FLOATS;
import static io.flexiserve.model.cpu.PanelLayout.LANES;
import static io.flexiserve.model.cpu.QuantLayout.BLOCK;
import static io.flexiserve.model.cpu.QuantLayout.LOAD_BYTES;
import static io.flexiserve.model.cpu.QuantLayout.SCALE_BYTES;
import static io.flexiserve.model.cpu.QuantLayout.code;
import static io.flexiserve.model.cpu.QuantLayout.highScales;
import static io.flexiserve.model.cpu.QuantLayout.lowScales;
import static io.flexiserve.model.cpu.QuantLayout.words;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The Vector API kernels behind {@link VectorGemm} for weights stored as {@link QuantLayout} says: one row
 * ({@link #rowQ8}, {@link #rowQ4}) and blocks of four rows ({@link #rows}), for 8- and 4-bit codes.
 *
 * <p>Arithmetic. Each weight is widened exactly, {@code w = q s} (a code times its block's scale, exact in f32), and
 * added as {@code sum = fma(w, x[k], sum)} over {@code k} in order from zero: the same floats in the same order in
 * every kernel, so a row's result does not depend on the rows multiplied with it, and it is an f32 product of the
 * dequantized weights.
 *
 * <p>Shape. Each kernel takes half a pair of panels at a time (vectors {@code 2 half} and {@code 2 half + 1} of each
 * load) and reads the pair's other half again from cache: one row widens four codes per iteration (two vectors of two
 * input indices), four rows two codes per index, each reused for four rows. Each kernel is one flat loop over the
 * input that reloads its block's scales (from L1) as it goes, written out as {@link PanelKernels} explains. Three
 * limits of C2 in JDK 17 shaped them, each measured as a 5-10x slower kernel: a vector carried across a nested loop
 * (scales held over a block's inner loop) is boxed; so is every vector of a compiled method whose inlined Vector API
 * calls pass C2's node budget for inlining (about eight code conversions: unrolling a block to sum its products
 * before scaling them did that, and so did one dispatcher inlining both formats' kernels, hence an entry point per
 * format and shape); and {@code convert} rather than {@code convertShape} loses the vector's static type.
 */
final class QuantKernels {

    private QuantKernels() {
    }

    /**
     * Q8, one row: {@code y[c] = sum_k x[k] W[c][k]} for the columns of pairs {@code [pair0, pair1)}; padding
     * columns get zeros. (One entry point per format and shape: C2 inlines each kernel into its own caller only.)
     */
    static void rowQ8(ByteBuffer packed, int in, float[] x, float[] y, int pair0, int pair1) {
        long pairBytes = QuantLayout.pairBytes(WeightFormat.Q8, in);
        for (int pair = pair0; pair < pair1; pair++) {
            for (int half = 0; half < 2; half++) {
                row8(packed, (int) (pair * pairBytes), half, in, x, y, pair * QuantLayout.PAIR + half * 2 * LANES);
            }
        }
    }

    /** Q4, one row: as {@link #rowQ8}. */
    static void rowQ4(ByteBuffer packed, int in, float[] x, float[] y, int pair0, int pair1) {
        long pairBytes = QuantLayout.pairBytes(WeightFormat.Q4, in);
        for (int pair = pair0; pair < pair1; pair++) {
            for (int half = 0; half < 2; half++) {
                row4(packed, (int) (pair * pairBytes), half, in, x, y, pair * QuantLayout.PAIR + half * 2 * LANES);
            }
        }
    }

    /**
     * Rows: {@code y[r * stride + c] = sum_k xt[k * rows + r] W[c][k]} for every row (a multiple of 4) and the
     * columns of pairs {@code [pair0, pair1)}, {@code y} from float index {@code yOffset}.
     */
    static void rows(WeightFormat format, ByteBuffer packed, int out, int in, float[] xt, int rows, float[] y,
                     int yOffset, int pair0, int pair1) {
        int stride = checkedStride(out, rows);
        long pairBytes = QuantLayout.pairBytes(format, in);
        for (int pair = pair0; pair < pair1; pair++) {
            for (int half = 0; half < 2; half++) { // vectors 0-1, then 2-3 of each load, the second from cache
                int at = yOffset + pair * QuantLayout.PAIR + half * 2 * LANES;
                for (int r = 0; r < rows; r += 4) {
                    rows4(format, packed, (int) (pair * pairBytes), half, in, xt, rows, r, y, at + r * stride, stride);
                }
            }
        }
    }

    private static int checkedStride(int out, int rows) {
        if (rows % 4 != 0) {
            throw new IllegalArgumentException(rows + " rows: pad them to a multiple of 4");
        }
        return PanelLayout.stride(out);
    }

    // Q8, one row, half a pair (vectors 2 half and 2 half + 1), two input indices per iteration: four codes, as
    // Q4's kernel; the second half reads the pair from cache (faster than widening all four vectors of one index per
    // iteration: BENCHMARKS.md, "What limits these figures", "Kernel choices").
    private static void row8(ByteBuffer packed, int base, int half, int in, float[] x, float[] y, int at) {
        FloatVector a = FloatVector.zero(FLOATS), b = a;
        int blockBytes = QuantLayout.blockBytes(WeightFormat.Q8);
        int left = 24 - 16 * half; // byte 2 half of each word
        for (int k = 0; k < in; k += 2) {
            int block = base + k / BLOCK * blockBytes;
            IntVector s = words(packed, block + half * LOAD_BYTES);
            FloatVector sa = lowScales(s), sb = highScales(s);
            int w = block + SCALE_BYTES + k % BLOCK * LOAD_BYTES;
            IntVector q = words(packed, w);
            FloatVector v = FloatVector.broadcast(FLOATS, x[k]);
            a = code(q, left, 24).mul(sa).fma(v, a);
            b = code(q, left - 8, 24).mul(sb).fma(v, b);
            q = words(packed, w + LOAD_BYTES);
            v = FloatVector.broadcast(FLOATS, x[k + 1]);
            a = code(q, left, 24).mul(sa).fma(v, a);
            b = code(q, left - 8, 24).mul(sb).fma(v, b);
        }
        a.intoArray(y, at);
        b.intoArray(y, at + LANES);
    }

    // Q4, one row, half a pair (vectors 2 half and 2 half + 1): two input indices per load give four codes per
    // vector pair, as many as Q8's one-row kernel widens per iteration; the second half reads the pair from cache.
    private static void row4(ByteBuffer packed, int base, int half, int in, float[] x, float[] y, int at) {
        FloatVector a = FloatVector.zero(FLOATS), b = a;
        int blockBytes = QuantLayout.blockBytes(WeightFormat.Q4);
        for (int k = 0; k < in; k += 2) {
            int block = base + k / BLOCK * blockBytes;
            IntVector s = words(packed, block + half * LOAD_BYTES);
            FloatVector sa = lowScales(s), sb = highScales(s);
            IntVector q = words(packed, block + SCALE_BYTES + k % BLOCK / 2 * LOAD_BYTES);
            q = q.lanewise(VectorOperators.LSHR, 8 * half); // this half's nibbles to the bottom of each byte pair
            FloatVector v = FloatVector.broadcast(FLOATS, x[k]);
            a = code(q, 28, 28).mul(sa).fma(v, a);
            b = code(q, 24, 28).mul(sb).fma(v, b);
            v = FloatVector.broadcast(FLOATS, x[k + 1]);
            a = code(q, 12, 28).mul(sa).fma(v, a); // k + 1: the nibbles 16 bits up
            b = code(q, 8, 28).mul(sb).fma(v, b);
        }
        a.intoArray(y, at);
        b.intoArray(y, at + LANES);
    }

    // Four rows of half a pair: vectors 2 half and 2 half + 1 of each load, from the pair's first or second panel.
    // Q8 has one input index per load, its codes bytes 2 half and 2 half + 1; Q4 two, its codes nibbles 2 half and
    // 2 half + 1 for k and the same 16 bits up for k + 1.
    private static void rows4(WeightFormat format, ByteBuffer packed, int base, int half, int in, float[] xt, int rows,
                              int r0, float[] y, int at, int stride) {
        FloatVector a0 = FloatVector.zero(FLOATS), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        int bits = format.bits();
        int right = 32 - bits;
        int left = right - 2 * bits * half; // the code of vector 2 half, shifted to the top of the word
        int pairShift = format == WeightFormat.Q4 ? 1 : 0; // Q4: two input indices per load
        int blockBytes = QuantLayout.blockBytes(format);
        for (int k = 0, x = r0; k < in; k++, x += rows) {
            int block = base + k / BLOCK * blockBytes;
            IntVector s = words(packed, block + half * LOAD_BYTES);
            IntVector q = words(packed, block + SCALE_BYTES + (k % BLOCK >> pairShift) * LOAD_BYTES);
            int up = 16 * (k & pairShift); // Q4: k + 1's nibbles lie 16 bits above k's
            FloatVector wa = code(q, left - up, right).mul(lowScales(s));
            FloatVector wb = code(q, left - up - bits, right).mul(highScales(s));
            FloatVector v;
            v = FloatVector.broadcast(FLOATS, xt[x]);
            a0 = wa.fma(v, a0);
            b0 = wb.fma(v, b0);
            v = FloatVector.broadcast(FLOATS, xt[x + 1]);
            a1 = wa.fma(v, a1);
            b1 = wb.fma(v, b1);
            v = FloatVector.broadcast(FLOATS, xt[x + 2]);
            a2 = wa.fma(v, a2);
            b2 = wb.fma(v, b2);
            v = FloatVector.broadcast(FLOATS, xt[x + 3]);
            a3 = wa.fma(v, a3);
            b3 = wb.fma(v, b3);
        }
        a0.intoArray(y, at);
        b0.intoArray(y, at + LANES);
        a1.intoArray(y, at + stride);
        b1.intoArray(y, at + stride + LANES);
        a2.intoArray(y, at + 2 * stride);
        b2.intoArray(y, at + 2 * stride + LANES);
        a3.intoArray(y, at + 3 * stride);
        b3.intoArray(y, at + 3 * stride + LANES);
    }
}
