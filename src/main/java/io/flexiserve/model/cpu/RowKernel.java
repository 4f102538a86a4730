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
 * {@code y = W x} for a single row {@code x} and a weight packed as {@link PanelLayout} says: a decode step of one
 * sequence, which is bound by reading the weight once.
 *
 * <p>Two panels are walked side by side, so that each core keeps two sequential streams in flight, which reads
 * memory markedly faster than one (BENCHMARKS.md, "What limits these figures", item "Batch-1 decode"). The
 * packing's scale is split between the input (each {@code x[k]} times
 * {@link PanelLayout.Packing#rowScale()} as it is broadcast: a scalar multiply, free in a loop bound by memory) and
 * the sums (multiplied by it once per panel), which saves the widened weights' multiply; both are powers of two, so
 * nothing is rounded, unless an input exceeds about {@code 2^76} in magnitude or a product falls below
 * {@code 2^-75} (where it would not move a sum it matters to). Scaling only the sums would not do: the widened
 * weights are tiny ({@code 2^-102} times the weight), and their products with small inputs would be subnormal.
 */
public final class RowKernel {

    private RowKernel() {
    }

    /**
     * {@code y[c] = sum_k x[k] * W[c][k]} for the columns of panels {@code [p0, p1)}, both even, {@code rowScale}
     * being the packing's; columns past the weight's come out as zeros.
     */
    static void multiply(ByteBuffer packed, float rowScale, int in, float[] x, float[] y, int p0, int p1) {
        for (int p = p0; p < p1; p += 2) {
            panelPair(packed, rowScale, in, x, y, p);
        }
    }

    private static void panelPair(ByteBuffer packed, float rowScale, int in, float[] x, float[] y, int p) {
        int w = p * PANEL * in * Short.BYTES;
        int u = w + PANEL * in * Short.BYTES; // the next panel
        FloatVector a0 = FloatVector.zero(FLOATS), b0 = a0, c0 = a0, d0 = a0;
        for (int k = 0; k < in; k++, w += PANEL * Short.BYTES, u += PANEL * Short.BYTES) {
            IntVector first = words(packed, w);
            IntVector second = words(packed, u);
            FloatVector v = FloatVector.broadcast(FLOATS, x[k] * rowScale);
            a0 = low(first).fma(v, a0);
            b0 = high(first).fma(v, b0);
            c0 = low(second).fma(v, c0);
            d0 = high(second).fma(v, d0);
        }
        int at = p * PANEL; // stored written out: see PanelKernels on C2 and store helpers
        a0.mul(rowScale).intoArray(y, at);
        b0.mul(rowScale).intoArray(y, at + LANES);
        c0.mul(rowScale).intoArray(y, at + PANEL);
        d0.mul(rowScale).intoArray(y, at + PANEL + LANES);
    }
}
