package io.flexiserve.model.cpu;

import static io.flexiserve.model.cpu.PanelLayout.FLOATS;
import static io.flexiserve.model.cpu.PanelLayout.LANES;
import static io.flexiserve.model.cpu.PanelLayout.ORDER;
import static io.flexiserve.model.cpu.PanelLayout.PANEL;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * How {@link VectorGemm} stores an f32 weight ({@link WeightFormat#F32}: the routers and adapters, which are small and
 * decide the routing), and its kernels.
 *
 * <p>Layout: {@link PanelLayout}'s panels of {@link PanelLayout#PANEL} columns, in pairs (the last pair padded with
 * zero columns); a panel stores, for each input index {@code k}, its columns' weights as floats, columns {@code 0}
 * to {@code LANES - 1} then {@code LANES} to {@code PANEL - 1}: two vectors read as they are stored.
 *
 * <p>Arithmetic: {@code sum = fma(w[k], x[k], sum)} over {@code k} in order from zero in every kernel, so a row's
 * result does not depend on the rows multiplied with it. Shapes as {@link RowKernel} (one row: both panels of a pair
 * side by side) and {@link PanelKernels} (four rows per pass over a panel), written out for the reasons they give.
 */
final class FloatPanels {

    private static final int STEP = PANEL * Float.BYTES; // one input index of one panel

    private FloatPanels() {
    }

    /** Bytes of the packed form of an {@code (out, in)} weight. */
    static long packedBytes(int out, int in) {
        return (long) PanelLayout.stride(out) * in * Float.BYTES;
    }

    /** Packs {@code w} ({@code out x in}, row-major) into {@code dst} ({@link #packedBytes} long). */
    static void pack(FloatBuffer w, int out, int in, ByteBuffer dst) {
        FloatBuffer d = dst.duplicate().order(ORDER).asFloatBuffer();
        float[] row = new float[in];
        float[] panel = new float[PANEL * in];
        for (int p = 0; p < PanelLayout.panels(out); p++) {
            for (int c = 0; c < PANEL; c++) {
                int col = p * PANEL + c;
                if (col < out) {
                    w.get(col * in, row);
                } else {
                    Arrays.fill(row, 0f);
                }
                for (int k = 0; k < in; k++) {
                    panel[k * PANEL + c] = row[k];
                }
            }
            d.put(p * PANEL * in, panel);
        }
    }

    /** One row: {@code y[c] = sum_k x[k] W[c][k]} for the columns of panels {@code [p0, p1)}, both even. */
    static void row(ByteBuffer packed, int in, float[] x, float[] y, int p0, int p1) {
        for (int p = p0; p < p1; p += 2) {
            panelPair(packed, in, x, y, p);
        }
    }

    /**
     * Rows: {@code y[r * stride + c] = sum_k xt[k * rows + r] W[c][k]} for every row (a multiple of 4) and the
     * columns of panels {@code [p0, p1)}, {@code y} from float index {@code yOffset}.
     */
    static void rows(ByteBuffer packed, int out, int in, float[] xt, int rows, float[] y, int yOffset, int p0, int p1) {
        if (rows % 4 != 0) {
            throw new IllegalArgumentException(rows + " rows: pad them to a multiple of 4");
        }
        int stride = PanelLayout.stride(out);
        for (int p = p0; p < p1; p++) {
            for (int r = 0; r < rows; r += 4) { // the panel's later row blocks read it from cache
                rows4(packed, p * STEP * in, in, xt, rows, r, y, yOffset + p * PANEL + r * stride, stride);
            }
        }
    }

    private static void panelPair(ByteBuffer packed, int in, float[] x, float[] y, int p) {
        int w = p * STEP * in;
        int u = w + STEP * in; // the next panel
        FloatVector a = FloatVector.zero(FLOATS), b = a, c = a, d = a;
        for (int k = 0; k < in; k++, w += STEP, u += STEP) {
            FloatVector v = FloatVector.broadcast(FLOATS, x[k]);
            a = floats(packed, w).fma(v, a);
            b = floats(packed, w + LANES * Float.BYTES).fma(v, b);
            c = floats(packed, u).fma(v, c);
            d = floats(packed, u + LANES * Float.BYTES).fma(v, d);
        }
        int at = p * PANEL;
        a.intoArray(y, at);
        b.intoArray(y, at + LANES);
        c.intoArray(y, at + PANEL);
        d.intoArray(y, at + PANEL + LANES);
    }

    private static void rows4(ByteBuffer packed, int base, int in, float[] xt, int rows, int r0, float[] y, int at,
                              int stride) {
        FloatVector a0 = FloatVector.zero(FLOATS), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        int w = base;
        int x = r0;
        for (int k = 0; k < in; k++, w += STEP, x += rows) {
            FloatVector wa = floats(packed, w);
            FloatVector wb = floats(packed, w + LANES * Float.BYTES);
            FloatVector v = FloatVector.broadcast(FLOATS, xt[x]);
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

    private static FloatVector floats(ByteBuffer packed, int offset) {
        return FloatVector.fromByteBuffer(FLOATS, packed, offset, ORDER);
    }
}
