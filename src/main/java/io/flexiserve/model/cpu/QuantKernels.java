package io.flexiserve.model.cpu;

import static io.flexiserve.model.cpu.PanelLayout.FLOATS;
import static io.flexiserve.model.cpu.PanelLayout.LANES;
import static io.flexiserve.model.cpu.QuantLayout.GROUP;
import static io.flexiserve.model.cpu.QuantLayout.PANEL_COLUMNS;
import static io.flexiserve.model.cpu.QuantLayout.SCALE_BYTES;
import static io.flexiserve.model.cpu.QuantLayout.code;
import static io.flexiserve.model.cpu.QuantLayout.highScales;
import static io.flexiserve.model.cpu.QuantLayout.lowScales;
import static io.flexiserve.model.cpu.QuantLayout.words;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * The Vector API kernels behind {@link VectorGemm} for weights stored as {@link QuantLayout} says, each for both
 * formats: one row ({@link #row}: a decode step of one sequence) and many ({@link #rows}: four rows of both of a
 * panel's vectors per pass, the panel read from cache after the first).
 *
 * <p>Arithmetic. A kernel takes the input in groups of {@link QuantLayout#GROUP} indices (all in one block) and, for
 * each column, sums the group's products of codes and inputs, {@code t = q[k] x[k]}, then {@code t = fma(q[k+i],
 * x[k+i], t)}, and adds the group to the column's sum scaled by its block's scale, {@code sum = fma(t, s, sum)},
 * groups in order from {@code k = 0}. Both kernels add the same floats in the same order, so a row's result does not
 * depend on the rows multiplied with it. Scaling a group rather than each weight leaves a weight three vector
 * operations, two shifts and a conversion, besides its FMA (BENCHMARKS.md, "Weight formats").
 *
 * <p>Codes. A kernel reads a group's codes as two vectors of words, {@code wa} for the panel's first {@code LANES}
 * columns and {@code wb} for the rest (Q4: the same vector, {@code wb}'s codes 16 bits above {@code wa}'s), and takes
 * input {@code k + i}'s codes out of them with two shifts ({@link QuantLayout#code}) whose counts the format sets.
 *
 * <p>Shape. A kernel walks one panel from {@code k = 0}, its two vectors side by side, as one flat loop of one group
 * per iteration that reloads the block's scales (from L1) as it goes. Two limits of C2 in JDK 17 shaped it
 * (docs/djl-traps.md, trap 16): a vector carried across a nested loop (scales held over a block's inner loop) is
 * boxed, and so is every vector of a compiled method whose inlined Vector API calls pass C2's node budget for
 * inlining, hence groups of four rather than whole blocks, four rows a pass, and each vector its own local.
 */
final class QuantKernels {

    /** Rows one pass of {@link #rows} multiplies. */
    static final int ROWS = 4;

    private QuantKernels() {
    }

    /**
     * One row: {@code y[c] = sum_k x[k] W[c][k]} for the columns of pairs {@code [pair0, pair1)}; padding columns get
     * zeros.
     */
    static void row(WeightFormat format, ByteBuffer packed, int in, float[] x, float[] y, int pair0, int pair1) {
        long panelBytes = QuantLayout.panelBytes(format, in);
        for (int panel = 2 * pair0; panel < 2 * pair1; panel++) {
            panel(format, packed, (int) (panel * panelBytes), in, x, y, panel * PANEL_COLUMNS);
        }
    }

    /**
     * Rows: {@code y[r * stride + c] = sum_k xt[k * rows + r] W[c][k]} for every row (a multiple of {@link #ROWS}) and
     * the columns of pairs {@code [pair0, pair1)}, {@code y} from float index {@code yOffset}.
     */
    static void rows(WeightFormat format, ByteBuffer packed, int out, int in, float[] xt, int rows, float[] y,
                     int yOffset, int pair0, int pair1) {
        if (rows % ROWS != 0) {
            throw new IllegalArgumentException(rows + " rows: pad them to a multiple of " + ROWS);
        }
        int stride = PanelLayout.stride(out);
        long panelBytes = QuantLayout.panelBytes(format, in);
        for (int panel = 2 * pair0; panel < 2 * pair1; panel++) {
            int at = yOffset + panel * PANEL_COLUMNS;
            for (int r = 0; r < rows; r += ROWS) {
                panelRows(format, packed, (int) (panel * panelBytes), in, xt, rows, r, y, at + r * stride, stride);
            }
        }
    }

    // One row of one panel: its vectors a (columns 0..LANES-1) and b, one group of four inputs per iteration.
    private static void panel(WeightFormat format, ByteBuffer packed, int base, int in, float[] x, float[] y, int at) {
        FloatVector a = FloatVector.zero(FLOATS), b = a;
        int block = QuantLayout.block(format);
        int blockBytes = QuantLayout.blockBytes(format);
        int groupBytes = QuantLayout.groupBytes(format);
        int second = QuantLayout.secondVector(format);
        int bits = format.bits();
        int right = Integer.SIZE - bits; // code i of wa: shifted left by right - i bits, then right by right
        int left = right - QuantLayout.above(format); // code i of wb: left - i bits
        for (int k = 0; k < in; k += GROUP) {
            int blockAt = base + k / block * blockBytes;
            IntVector s = words(packed, blockAt);
            int c = blockAt + SCALE_BYTES + k % block / GROUP * groupBytes;
            IntVector wa = words(packed, c), wb = second == 0 ? wa : words(packed, c + second);
            FloatVector v = FloatVector.broadcast(FLOATS, x[k]);
            FloatVector ta = code(wa, right, right).mul(v), tb = code(wb, left, right).mul(v);
            v = FloatVector.broadcast(FLOATS, x[k + 1]);
            ta = code(wa, right - bits, right).fma(v, ta);
            tb = code(wb, left - bits, right).fma(v, tb);
            v = FloatVector.broadcast(FLOATS, x[k + 2]);
            ta = code(wa, right - 2 * bits, right).fma(v, ta);
            tb = code(wb, left - 2 * bits, right).fma(v, tb);
            v = FloatVector.broadcast(FLOATS, x[k + 3]);
            ta = code(wa, right - 3 * bits, right).fma(v, ta);
            tb = code(wb, left - 3 * bits, right).fma(v, tb);
            a = ta.fma(lowScales(s), a);
            b = tb.fma(highScales(s), b);
        }
        a.intoArray(y, at);
        b.intoArray(y, at + LANES);
    }

    // Four rows of both vectors of one panel: a group's eight code vectors widened once, then each row's group summed
    // as panel() sums it; row r's input k lies at xt[k * rows + r0 + r]. Written out flat: a loop over the rows would
    // carry vectors across a nested loop, and a helper per row was not inlined where C2 compiled it cold.
    private static void panelRows(WeightFormat format, ByteBuffer packed, int base, int in, float[] xt, int rows,
                                  int r0, float[] y, int at, int stride) {
        FloatVector a0 = FloatVector.zero(FLOATS), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        int block = QuantLayout.block(format);
        int blockBytes = QuantLayout.blockBytes(format);
        int groupBytes = QuantLayout.groupBytes(format);
        int second = QuantLayout.secondVector(format);
        int bits = format.bits();
        int right = Integer.SIZE - bits;
        int left = right - QuantLayout.above(format);
        for (int k = 0; k < in; k += GROUP) {
            int blockAt = base + k / block * blockBytes;
            int c = blockAt + SCALE_BYTES + k % block / GROUP * groupBytes;
            IntVector wa = words(packed, c), wb = second == 0 ? wa : words(packed, c + second);
            FloatVector qa0 = code(wa, right, right), qb0 = code(wb, left, right);
            FloatVector qa1 = code(wa, right - bits, right), qb1 = code(wb, left - bits, right);
            FloatVector qa2 = code(wa, right - 2 * bits, right), qb2 = code(wb, left - 2 * bits, right);
            FloatVector qa3 = code(wa, right - 3 * bits, right), qb3 = code(wb, left - 3 * bits, right);
            IntVector s = words(packed, blockAt);
            FloatVector sa = lowScales(s), sb = highScales(s);
            int x = k * rows + r0;
            FloatVector v = FloatVector.broadcast(FLOATS, xt[x]);
            FloatVector ta = qa0.mul(v), tb = qb0.mul(v);
            v = FloatVector.broadcast(FLOATS, xt[x + rows]);
            ta = qa1.fma(v, ta);
            tb = qb1.fma(v, tb);
            v = FloatVector.broadcast(FLOATS, xt[x + 2 * rows]);
            ta = qa2.fma(v, ta);
            tb = qb2.fma(v, tb);
            v = FloatVector.broadcast(FLOATS, xt[x + 3 * rows]);
            ta = qa3.fma(v, ta);
            tb = qb3.fma(v, tb);
            a0 = ta.fma(sa, a0);
            b0 = tb.fma(sb, b0);
            x++;
            v = FloatVector.broadcast(FLOATS, xt[x]);
            ta = qa0.mul(v);
            tb = qb0.mul(v);
            v = FloatVector.broadcast(FLOATS, xt[x + rows]);
            ta = qa1.fma(v, ta);
            tb = qb1.fma(v, tb);
            v = FloatVector.broadcast(FLOATS, xt[x + 2 * rows]);
            ta = qa2.fma(v, ta);
            tb = qb2.fma(v, tb);
            v = FloatVector.broadcast(FLOATS, xt[x + 3 * rows]);
            ta = qa3.fma(v, ta);
            tb = qb3.fma(v, tb);
            a1 = ta.fma(sa, a1);
            b1 = tb.fma(sb, b1);
            x++;
            v = FloatVector.broadcast(FLOATS, xt[x]);
            ta = qa0.mul(v);
            tb = qb0.mul(v);
            v = FloatVector.broadcast(FLOATS, xt[x + rows]);
            ta = qa1.fma(v, ta);
            tb = qb1.fma(v, tb);
            v = FloatVector.broadcast(FLOATS, xt[x + 2 * rows]);
            ta = qa2.fma(v, ta);
            tb = qb2.fma(v, tb);
            v = FloatVector.broadcast(FLOATS, xt[x + 3 * rows]);
            ta = qa3.fma(v, ta);
            tb = qb3.fma(v, tb);
            a2 = ta.fma(sa, a2);
            b2 = tb.fma(sb, b2);
            x++;
            v = FloatVector.broadcast(FLOATS, xt[x]);
            ta = qa0.mul(v);
            tb = qb0.mul(v);
            v = FloatVector.broadcast(FLOATS, xt[x + rows]);
            ta = qa1.fma(v, ta);
            tb = qb1.fma(v, tb);
            v = FloatVector.broadcast(FLOATS, xt[x + 2 * rows]);
            ta = qa2.fma(v, ta);
            tb = qb2.fma(v, tb);
            v = FloatVector.broadcast(FLOATS, xt[x + 3 * rows]);
            ta = qa3.fma(v, ta);
            tb = qb3.fma(v, tb);
            a3 = ta.fma(sa, a3);
            b3 = tb.fma(sb, b3);
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
