package io.flexiserve.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernels behind {@link VectorGemm}: {@code y = x W^T} for f16 weights packed into panels, with
 * register-blocked accumulators, f16 widened in registers and f32 accumulation.
 *
 * <p>Layout. The weight's output columns are cut into panels of {@link #PANEL} (two vectors); a panel stores, for
 * each input index {@code k}, its {@code PANEL} weights as {@code LANES} 32-bit words, word {@code j} holding column
 * {@code j} in its low half and column {@code LANES + j} in its high half. A kernel walks one panel from
 * {@code k = 0} to {@code in}, reading it strictly sequentially, and keeps {@code 8 x 2} or {@code 4 x 2}
 * accumulators in registers (rows come padded to a multiple of 4: at a few rows the product is bound by reading
 * the weight, not by the padding's multiply-adds); the input comes transposed ({@code xt[k * rows + r]}), so each
 * step broadcasts {@code rows} consecutive floats. A panel is read from memory once and then from cache for each
 * further block of rows.
 *
 * <p>The 8-row and 4-row kernels are written out by hand, alike but for their size: C2 keeps vectors in registers
 * only as separate locals, and the 4-row one halves the time of 2-4 row steps against padding them to 8.
 *
 * <p>Widening f16 without F16C in the Vector API: shifting the half into bits 13..27 of a float and multiplying by
 * 2^112 rebases its exponent, subnormals and zero included, and keeps its sign; f16 infinities and NaNs are not
 * preserved (weights have none).
 */
final class PanelKernels {

    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    static final int LANES = FLOATS.length();
    static final int PANEL = 2 * LANES;

    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    private static final float REBIAS = 0x1p112f;  // 2^(127 - 15)
    private static final int KEEP_LOW = 0x8FFFFFFF; // sign, and the half's 15 bits with what lies below
    private static final int KEEP_HIGH = 0x8FFFE000; // as KEEP_LOW, without the other half's leftover bits

    private PanelKernels() {
    }

    static int panels(int out) {
        return (out + PANEL - 1) / PANEL;
    }

    /** Bytes of the packed form of an {@code (out, in)} f16 weight (the last panel padded with zeros). */
    static long packedBytes(int out, int in) {
        return (long) stride(out) * in * Short.BYTES;
    }

    /** Packs f16 bits {@code w} ({@code out x in}, row-major) into {@code dst} ({@link #packedBytes} long). */
    static void pack(ShortBuffer w, int out, int in, ByteBuffer dst) {
        ByteBuffer d = dst.duplicate().order(ORDER);
        for (int p = 0; p < panels(out); p++) {
            int panelBase = p * PANEL * in * Short.BYTES;
            for (int c = 0; c < PANEL; c++) {
                int col = p * PANEL + c;
                int slot = c < LANES ? 2 * c : 2 * (c - LANES) + 1; // low half, then high half, of word c % LANES
                for (int k = 0; k < in; k++) {
                    short bits = col < out ? w.get(col * in + k) : 0;
                    d.putShort(panelBase + (k * PANEL + slot) * Short.BYTES, bits);
                }
            }
        }
    }

    /** The row stride of a product's output: the output columns rounded up to whole panels. */
    static int stride(int out) {
        return panels(out) * PANEL;
    }

    /**
     * {@code y[r * stride(out) + c] = sum_k xt[k * rows + r] * W[c][k]} for the columns of panels {@code [p0, p1)}
     * and every row, {@code y} being floats from float index {@code yOffset}. Columns past {@code out} come out as
     * zeros.
     */
    static void multiply(ByteBuffer packed, int out, int in, float[] xt, int rows, float[] y, int yOffset,
                         int p0, int p1) {
        int stride = stride(out);
        for (int p = p0; p < p1; p++) {
            int base = p * PANEL * in * Short.BYTES;
            int at = yOffset + p * PANEL;
            int r = 0;
            for (; r + 8 <= rows; r += 8) {
                rows8(packed, base, in, xt, rows, r, y, at + r * stride, stride);
            }
            if (r + 4 <= rows) {
                rows4(packed, base, in, xt, rows, r, y, at + r * stride, stride);
                r += 4;
            }
            if (r != rows) {
                throw new IllegalArgumentException(rows + " rows: pad them to a multiple of 4");
            }
        }
    }

    private static FloatVector low(IntVector words) {
        return words.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(KEEP_LOW)
                .reinterpretAsFloats().mul(REBIAS);
    }

    private static FloatVector high(IntVector words) {
        return words.lanewise(VectorOperators.ASHR, 3).and(KEEP_HIGH).reinterpretAsFloats().mul(REBIAS);
    }

    // The kernels store their accumulators with intoArray, written out: a helper method taking the vectors, not
    // inlined in an early (OSR) compile because it runs once per call, made C2 keep the accumulators as objects
    // inside the loop: a 4-5x slower kernel in some runs. (Nor do a masked store or a store into a ByteBuffer
    // compile to one vector instruction in JDK 17; either also left the accumulators boxed.)
    private static IntVector words(ByteBuffer packed, int offset) {
        return IntVector.fromByteBuffer(INTS, packed, offset, ORDER);
    }

    private static void rows8(ByteBuffer packed, int base, int in, float[] xt, int rows, int r0, float[] y, int at,
                              int stride) {
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
        a0.intoArray(y, at);
        b0.intoArray(y, at + LANES);
        a1.intoArray(y, at + stride);
        b1.intoArray(y, at + stride + LANES);
        a2.intoArray(y, at + 2 * stride);
        b2.intoArray(y, at + 2 * stride + LANES);
        a3.intoArray(y, at + 3 * stride);
        b3.intoArray(y, at + 3 * stride + LANES);
        a4.intoArray(y, at + 4 * stride);
        b4.intoArray(y, at + 4 * stride + LANES);
        a5.intoArray(y, at + 5 * stride);
        b5.intoArray(y, at + 5 * stride + LANES);
        a6.intoArray(y, at + 6 * stride);
        b6.intoArray(y, at + 6 * stride + LANES);
        a7.intoArray(y, at + 7 * stride);
        b7.intoArray(y, at + 7 * stride + LANES);
    }

    private static void rows4(ByteBuffer packed, int base, int in, float[] xt, int rows, int r0, float[] y, int at,
                              int stride) {
        FloatVector a0 = FloatVector.zero(FLOATS), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
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
