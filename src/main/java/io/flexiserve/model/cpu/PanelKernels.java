package io.flexiserve.model.cpu;

import static io.flexiserve.model.cpu.PanelLayout.FLOATS;
import static io.flexiserve.model.cpu.PanelLayout.LANES;
import static io.flexiserve.model.cpu.PanelLayout.PANEL;
import static io.flexiserve.model.cpu.PanelLayout.high;
import static io.flexiserve.model.cpu.PanelLayout.low;
import static io.flexiserve.model.cpu.PanelLayout.words;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * The batched Vector API kernels behind {@link VectorGemm}: {@code y = x W^T} for several rows of {@code x} and a
 * weight packed as {@link PanelLayout} says, with register-blocked accumulators, the weight widened in registers
 * and f32 accumulation.
 *
 * <p>A kernel walks one panel from {@code k = 0} to {@code in} and keeps {@code 8 x 2} or {@code 4 x 2}
 * accumulators in registers (rows come padded to a multiple of 4: at a few rows the product is bound by reading
 * the weight, not by the padding's multiply-adds); the input comes transposed ({@code xt[k * rows + r]}), so each
 * step broadcasts {@code rows} consecutive floats. A panel is read from memory once and then from cache for each
 * further block of rows. As in {@link RowKernel}, the packing's scale is split between the input (the caller
 * transposes it times {@link PanelLayout.Packing#rowScale()}) and the sums, so a row's products are the same floats
 * added in the same order as in {@link RowKernel}: a row's result does not depend on how many rows it came with.
 *
 * <p>The kernels are written out by hand, alike but for their size: C2 keeps vectors in registers only as separate
 * locals. The 4-row one halves the time of 2-4 row steps against padding them to 8; at 4 rows a product is still
 * bound by reading the weight, so that kernel walks both panels of a pair side by side as {@link RowKernel} does
 * (two memory streams per core; BENCHMARKS.md, "What limits these figures", "Kernels by batch size").
 */
final class PanelKernels {

    private PanelKernels() {
    }

    /**
     * {@code y[r * stride(out) + c] = sum_k xt[k * rows + r] * W[c][k]} for the columns of panels {@code [p0, p1)}
     * and every row, {@code y} being floats from float index {@code yOffset}, {@code xt} being x times
     * {@code rowScale} (the packing's). Columns past {@code out} come out as zeros.
     */
    static void multiply(ByteBuffer packed, float rowScale, int out, int in, float[] xt, int rows, float[] y,
                         int yOffset, int p0, int p1) {
        if (rows % 4 != 0) {
            throw new IllegalArgumentException(rows + " rows: pad them to a multiple of 4");
        }
        int stride = PanelLayout.stride(out);
        int panelBytes = PANEL * in * Short.BYTES;
        for (int p = p0; p < p1; p += 2) { // panels come in pairs (PanelLayout)
            int at = yOffset + p * PANEL;
            int eights = rows / 8 * 8;
            for (int q = 0; q < 2; q++) { // each panel of the pair, read from memory once, from cache for more rows
                for (int r = 0; r < eights; r += 8) {
                    rows8(packed, rowScale, (p + q) * panelBytes, in, xt, rows, r, y, at + q * PANEL + r * stride, stride);
                }
            }
            if (eights < rows) { // four rows left: bound by reading the weight, so both panels side by side
                rows4Pair(packed, rowScale, p * panelBytes, in, xt, rows, eights, y, at + eights * stride, stride);
            }
        }
    }

    // The kernels store their accumulators with intoArray, written out: a helper method taking the vectors, not
    // inlined in an early (OSR) compile because it runs once per call, made C2 keep the accumulators as objects
    // inside the loop: a 4-5x slower kernel in some runs. (Nor do a masked store or a store into a ByteBuffer
    // compile to one vector instruction in JDK 17; either also left the accumulators boxed.)
    private static void rows8(ByteBuffer packed, float rowScale, int base, int in, float[] xt, int rows, int r0,
                              float[] y, int at, int stride) {
        FloatVector a0 = FloatVector.zero(FLOATS), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        FloatVector a4 = a0, b4 = a0, a5 = a0, b5 = a0, a6 = a0, b6 = a0, a7 = a0, b7 = a0;
        int w = base;
        int x = r0;
        for (int k = 0; k < in; k++, w += PANEL * Short.BYTES, x += rows) {
            IntVector words = words(packed, w);
            FloatVector lo = low(words);
            FloatVector hi = high(words);
            FloatVector v;
            v = FloatVector.broadcast(FLOATS, xt[x]);
            a0 = lo.fma(v, a0);
            b0 = hi.fma(v, b0);
            v = FloatVector.broadcast(FLOATS, xt[x + 1]);
            a1 = lo.fma(v, a1);
            b1 = hi.fma(v, b1);
            v = FloatVector.broadcast(FLOATS, xt[x + 2]);
            a2 = lo.fma(v, a2);
            b2 = hi.fma(v, b2);
            v = FloatVector.broadcast(FLOATS, xt[x + 3]);
            a3 = lo.fma(v, a3);
            b3 = hi.fma(v, b3);
            v = FloatVector.broadcast(FLOATS, xt[x + 4]);
            a4 = lo.fma(v, a4);
            b4 = hi.fma(v, b4);
            v = FloatVector.broadcast(FLOATS, xt[x + 5]);
            a5 = lo.fma(v, a5);
            b5 = hi.fma(v, b5);
            v = FloatVector.broadcast(FLOATS, xt[x + 6]);
            a6 = lo.fma(v, a6);
            b6 = hi.fma(v, b6);
            v = FloatVector.broadcast(FLOATS, xt[x + 7]);
            a7 = lo.fma(v, a7);
            b7 = hi.fma(v, b7);
        }
        a0.mul(rowScale).intoArray(y, at);
        b0.mul(rowScale).intoArray(y, at + LANES);
        a1.mul(rowScale).intoArray(y, at + stride);
        b1.mul(rowScale).intoArray(y, at + stride + LANES);
        a2.mul(rowScale).intoArray(y, at + 2 * stride);
        b2.mul(rowScale).intoArray(y, at + 2 * stride + LANES);
        a3.mul(rowScale).intoArray(y, at + 3 * stride);
        b3.mul(rowScale).intoArray(y, at + 3 * stride + LANES);
        a4.mul(rowScale).intoArray(y, at + 4 * stride);
        b4.mul(rowScale).intoArray(y, at + 4 * stride + LANES);
        a5.mul(rowScale).intoArray(y, at + 5 * stride);
        b5.mul(rowScale).intoArray(y, at + 5 * stride + LANES);
        a6.mul(rowScale).intoArray(y, at + 6 * stride);
        b6.mul(rowScale).intoArray(y, at + 6 * stride + LANES);
        a7.mul(rowScale).intoArray(y, at + 7 * stride);
        b7.mul(rowScale).intoArray(y, at + 7 * stride + LANES);
    }

    private static void rows4Pair(ByteBuffer packed, float rowScale, int base, int in, float[] xt, int rows, int r0,
                                  float[] y, int at, int stride) {
        FloatVector a0 = FloatVector.zero(FLOATS), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        FloatVector c0 = a0, d0 = a0, c1 = a0, d1 = a0, c2 = a0, d2 = a0, c3 = a0, d3 = a0;
        int w = base;
        int u = base + PANEL * in * Short.BYTES; // the next panel
        for (int k = 0, x = r0; k < in; k++, w += PANEL * Short.BYTES, u += PANEL * Short.BYTES, x += rows) {
            IntVector first = words(packed, w);
            IntVector second = words(packed, u);
            FloatVector lo = low(first);
            FloatVector hi = high(first);
            FloatVector lo2 = low(second);
            FloatVector hi2 = high(second);
            FloatVector v;
            v = FloatVector.broadcast(FLOATS, xt[x]);
            a0 = lo.fma(v, a0);
            b0 = hi.fma(v, b0);
            c0 = lo2.fma(v, c0);
            d0 = hi2.fma(v, d0);
            v = FloatVector.broadcast(FLOATS, xt[x + 1]);
            a1 = lo.fma(v, a1);
            b1 = hi.fma(v, b1);
            c1 = lo2.fma(v, c1);
            d1 = hi2.fma(v, d1);
            v = FloatVector.broadcast(FLOATS, xt[x + 2]);
            a2 = lo.fma(v, a2);
            b2 = hi.fma(v, b2);
            c2 = lo2.fma(v, c2);
            d2 = hi2.fma(v, d2);
            v = FloatVector.broadcast(FLOATS, xt[x + 3]);
            a3 = lo.fma(v, a3);
            b3 = hi.fma(v, b3);
            c3 = lo2.fma(v, c3);
            d3 = hi2.fma(v, d3);
        }
        a0.mul(rowScale).intoArray(y, at);
        b0.mul(rowScale).intoArray(y, at + LANES);
        c0.mul(rowScale).intoArray(y, at + PANEL);
        d0.mul(rowScale).intoArray(y, at + PANEL + LANES);
        a1.mul(rowScale).intoArray(y, at + stride);
        b1.mul(rowScale).intoArray(y, at + stride + LANES);
        c1.mul(rowScale).intoArray(y, at + stride + PANEL);
        d1.mul(rowScale).intoArray(y, at + stride + PANEL + LANES);
        a2.mul(rowScale).intoArray(y, at + 2 * stride);
        b2.mul(rowScale).intoArray(y, at + 2 * stride + LANES);
        c2.mul(rowScale).intoArray(y, at + 2 * stride + PANEL);
        d2.mul(rowScale).intoArray(y, at + 2 * stride + PANEL + LANES);
        a3.mul(rowScale).intoArray(y, at + 3 * stride);
        b3.mul(rowScale).intoArray(y, at + 3 * stride + LANES);
        c3.mul(rowScale).intoArray(y, at + 3 * stride + PANEL);
        d3.mul(rowScale).intoArray(y, at + 3 * stride + PANEL + LANES);
    }

}
