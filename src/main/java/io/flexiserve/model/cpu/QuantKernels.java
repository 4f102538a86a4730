package io.flexiserve.model.cpu;

import static io.flexiserve.model.cpu.PanelLayout.FLOATS;
import static io.flexiserve.model.cpu.PanelLayout.LANES;
import static io.flexiserve.model.cpu.QuantLayout.BLOCK;
import static io.flexiserve.model.cpu.QuantLayout.CODE_BYTES;
import static io.flexiserve.model.cpu.QuantLayout.SCALE_BYTES;
import static io.flexiserve.model.cpu.QuantLayout.bytes;
import static io.flexiserve.model.cpu.QuantLayout.highNibbles;
import static io.flexiserve.model.cpu.QuantLayout.highScales;
import static io.flexiserve.model.cpu.QuantLayout.lowNibbles;
import static io.flexiserve.model.cpu.QuantLayout.lowScales;
import static io.flexiserve.model.cpu.QuantLayout.nibblePairs;
import static io.flexiserve.model.cpu.QuantLayout.words;

import java.nio.ByteBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * The Vector API kernels behind {@link VectorGemm} for weights stored as {@link QuantLayout} says: one row
 * ({@link #rowQ8}, {@link #rowQ4}) and many rows ({@link #rowsQ8}: four rows of one vector per pass; {@link #rowsQ4}:
 * two rows of both vectors; from {@link #WIDEN_MIN_ROWS} rows either format's panels widened to floats once,
 * {@link #WIDEN_TILE} inputs at a time, then four rows of both vectors per pass over the floats).
 *
 * <p>Arithmetic. A kernel takes the input in groups of {@link #GROUP} indices (all in one block) and, for each
 * column, sums the group's products of codes and inputs, {@code t = q[k] x[k]}, then {@code t = fma(q[k+i], x[k+i],
 * t)}, and adds the group to the column's sum scaled by its block's scale, {@code sum = fma(t, s, sum)}, groups in
 * order from {@code k = 0}. Every kernel adds the same floats in the same order, so a row's result does not depend on
 * the rows multiplied with it. Scaling a group rather than each weight leaves a weight two vector operations, its
 * widening and an FMA: the one-row Q8 kernel reads 1.7x as many bytes a second as when each weight was scaled
 * (BENCHMARKS.md, "Weight formats").
 *
 * <p>Shape. A kernel walks one panel from {@code k = 0}, its two vectors side by side, as one flat loop of one group
 * per iteration that reloads the block's scales (from L1) as it goes. Three limits of C2 in JDK 17 shaped it
 * (docs/djl-traps.md, trap 16): a vector carried across a nested loop (scales held over a block's inner loop) is
 * boxed; so is every vector of a compiled method whose inlined Vector API calls pass C2's node budget for inlining,
 * hence an entry point per format and shape, groups of four rather than whole blocks, and batched passes over codes of
 * four rows of one vector (Q8) or two rows of two (Q4) rather than four rows of two (a pass over widened floats,
 * without the conversions, fits four rows of two); and {@code convert} rather than {@code convertShape} loses the vector's static
 * type.
 */
final class QuantKernels {

    /** Input indices summed before their block's scale is applied. */
    static final int GROUP = 4;
    /** Rows one pass of the Q4 batched kernel multiplies. */
    private static final int Q4_ROWS = 2;
    /**
     * Rows from which the batched kernels widen each panel's codes and scales to floats once ({@link #widenQ8}) and
     * multiply every row on those ({@link #widenedRows}) rather than widening them again for every few rows: prefill.
     */
    static final int WIDEN_MIN_ROWS = 16;
    /**
     * Inputs of a panel widened at a time (whole blocks): their {@code 128 x 2 LANES} floats (16 KB with AVX-512) stay
     * in L1 while every row is multiplied by them. A whole panel of the release's MLP down projection widened at once
     * (1.8 MB) spilled out of L2: 64 rows multiplied at 170-180 GFLOP/s against 244-294 with tiles of 64 to 512
     * inputs, 128 the fastest (BENCHMARKS.md, "Weight formats").
     */
    static final int WIDEN_TILE = 128;
    /** Per thread, a tile's widened codes and scales. */
    private static final ThreadLocal<float[][]> WIDENED = ThreadLocal.withInitial(() -> new float[][] {
        new float[WIDEN_TILE * QuantLayout.PANEL_COLUMNS], new float[WIDEN_TILE / BLOCK * QuantLayout.PANEL_COLUMNS]});

    private QuantKernels() {
    }

    /**
     * Q8, one row: {@code y[c] = sum_k x[k] W[c][k]} for the columns of pairs {@code [pair0, pair1)}; padding
     * columns get zeros.
     */
    static void rowQ8(ByteBuffer packed, int in, float[] x, float[] y, int pair0, int pair1) {
        long panelBytes = QuantLayout.panelBytes(WeightFormat.Q8, in);
        for (int panel = 2 * pair0; panel < 2 * pair1; panel++) {
            panelQ8(packed, (int) (panel * panelBytes), in, x, y, panel * QuantLayout.PANEL_COLUMNS);
        }
    }

    /** Q4, one row: as {@link #rowQ8}. */
    static void rowQ4(ByteBuffer packed, int in, float[] x, float[] y, int pair0, int pair1) {
        long panelBytes = QuantLayout.panelBytes(WeightFormat.Q4, in);
        for (int panel = 2 * pair0; panel < 2 * pair1; panel++) {
            panelQ4(packed, (int) (panel * panelBytes), in, x, y, panel * QuantLayout.PANEL_COLUMNS);
        }
    }

    /**
     * Q8, rows: {@code y[r * stride + c] = sum_k xt[k * rows + r] W[c][k]} for every row (a multiple of 4) and the
     * columns of pairs {@code [pair0, pair1)}, {@code y} from float index {@code yOffset}.
     */
    static void rowsQ8(ByteBuffer packed, int out, int in, float[] xt, int rows, float[] y, int yOffset, int pair0,
                       int pair1) {
        if (rows >= WIDEN_MIN_ROWS) {
            rowsWidened(WeightFormat.Q8, packed, out, in, xt, rows, y, yOffset, pair0, pair1);
            return;
        }
        int stride = checkedStride(out, rows);
        long panelBytes = QuantLayout.panelBytes(WeightFormat.Q8, in);
        for (int panel = 2 * pair0; panel < 2 * pair1; panel++) {
            int at = yOffset + panel * QuantLayout.PANEL_COLUMNS;
            for (int half = 0; half < 2; half++) { // the panel's later passes read it from cache
                for (int r = 0; r < rows; r += 4) {
                    panelRowsQ8(packed, (int) (panel * panelBytes), half, in, xt, rows, r, y,
                            at + half * LANES + r * stride, stride);
                }
            }
        }
    }

    /** Q4, rows: as {@link #rowsQ8}. */
    static void rowsQ4(ByteBuffer packed, int out, int in, float[] xt, int rows, float[] y, int yOffset, int pair0,
                       int pair1) {
        if (rows >= WIDEN_MIN_ROWS) {
            rowsWidened(WeightFormat.Q4, packed, out, in, xt, rows, y, yOffset, pair0, pair1);
            return;
        }
        int stride = checkedStride(out, rows);
        long panelBytes = QuantLayout.panelBytes(WeightFormat.Q4, in);
        for (int panel = 2 * pair0; panel < 2 * pair1; panel++) {
            int at = yOffset + panel * QuantLayout.PANEL_COLUMNS;
            for (int r = 0; r < rows; r += Q4_ROWS) {
                panelRowsQ4(packed, (int) (panel * panelBytes), in, xt, rows, r, y, at + r * stride, stride);
            }
        }
    }

    /**
     * Q8 or Q4, many rows: as {@link #rowsQ8}, each panel widened once, {@link #WIDEN_TILE} inputs at a time, into this
     * thread's scratch, then four rows of both vectors per pass over it; between tiles each row's sums wait in
     * {@code y}, so they are the same floats as when a panel is walked in one go.
     */
    private static void rowsWidened(WeightFormat format, ByteBuffer packed, int out, int in, float[] xt, int rows,
                                    float[] y, int yOffset, int pair0, int pair1) {
        int stride = checkedStride(out, rows);
        long panelBytes = QuantLayout.panelBytes(format, in);
        float[][] scratch = WIDENED.get();
        float[] codes = scratch[0];
        float[] scales = scratch[1];
        for (int panel = 2 * pair0; panel < 2 * pair1; panel++) {
            int base = (int) (panel * panelBytes);
            int at = yOffset + panel * QuantLayout.PANEL_COLUMNS;
            for (int r = 0; r < rows; r++) { // the sums start at zero; each tile adds to them
                java.util.Arrays.fill(y, at + r * stride, at + r * stride + QuantLayout.PANEL_COLUMNS, 0f);
            }
            for (int k0 = 0; k0 < in; k0 += WIDEN_TILE) {
                int k1 = Math.min(in, k0 + WIDEN_TILE);
                if (format == WeightFormat.Q8) {
                    widenQ8(packed, base, k0, k1, codes, scales);
                } else {
                    widenQ4(packed, base, k0, k1, codes, scales);
                }
                for (int r = 0; r < rows; r += 4) {
                    widenedRows(codes, scales, k0, k1, xt, rows, r, y, at + r * stride, stride);
                }
            }
        }
    }

    /**
     * Inputs {@code [k0, k1)} (whole blocks) of a Q8 panel, its codes as floats, input {@code k}'s {@code 2 LANES}
     * columns from {@code codes[(k - k0) * 2 LANES]}, and their blocks' scales, block {@code b}'s from
     * {@code scales[(b - k0 / BLOCK) * 2 LANES]}.
     */
    private static void widenQ8(ByteBuffer packed, int base, int k0, int k1, float[] codes, float[] scales) {
        int blockBytes = QuantLayout.blockBytes(WeightFormat.Q8);
        for (int b = k0 / BLOCK; b < k1 / BLOCK; b++) {
            int block = base + b * blockBytes;
            int first = b - k0 / BLOCK;
            widenScales(packed, block, scales, first * QuantLayout.PANEL_COLUMNS);
            for (int k = 0; k < BLOCK; k++) {
                int c = block + SCALE_BYTES + k * CODE_BYTES;
                int to = (first * BLOCK + k) * QuantLayout.PANEL_COLUMNS;
                bytes(packed, c).intoArray(codes, to);
                bytes(packed, c + LANES).intoArray(codes, to + LANES);
            }
        }
    }

    /** Inputs {@code [k0, k1)} of a Q4 panel, its codes and scales as floats, laid out as {@link #widenQ8} lays them. */
    private static void widenQ4(ByteBuffer packed, int base, int k0, int k1, float[] codes, float[] scales) {
        int blockBytes = QuantLayout.blockBytes(WeightFormat.Q4);
        for (int b = k0 / BLOCK; b < k1 / BLOCK; b++) {
            int block = base + b * blockBytes;
            int first = b - k0 / BLOCK;
            widenScales(packed, block, scales, first * QuantLayout.PANEL_COLUMNS);
            for (int k = 0; k < BLOCK; k += 2) {
                int c = block + SCALE_BYTES + k / 2 * CODE_BYTES;
                int to = (first * BLOCK + k) * QuantLayout.PANEL_COLUMNS;
                IntVector qa = nibblePairs(packed, c), qb = nibblePairs(packed, c + LANES);
                lowNibbles(qa).intoArray(codes, to);
                lowNibbles(qb).intoArray(codes, to + LANES);
                highNibbles(qa).intoArray(codes, to + QuantLayout.PANEL_COLUMNS);
                highNibbles(qb).intoArray(codes, to + QuantLayout.PANEL_COLUMNS + LANES);
            }
        }
    }

    /** A block's {@code 2 LANES} bf16 scales (either format) as floats into {@code scales[at, at + 2 LANES)}. */
    private static void widenScales(ByteBuffer packed, int block, float[] scales, int at) {
        IntVector words = words(packed, block);
        lowScales(words).intoArray(scales, at);
        highScales(words).intoArray(scales, at + LANES);
    }

    private static int checkedStride(int out, int rows) {
        if (rows % 4 != 0) {
            throw new IllegalArgumentException(rows + " rows: pad them to a multiple of 4");
        }
        return PanelLayout.stride(out);
    }

    // Q8, one row of one panel: vectors a (columns 0..LANES-1) and b, one group of four inputs per iteration.
    private static void panelQ8(ByteBuffer packed, int base, int in, float[] x, float[] y, int at) {
        FloatVector a = FloatVector.zero(FLOATS), b = a;
        int blockBytes = QuantLayout.blockBytes(WeightFormat.Q8);
        for (int k = 0; k < in; k += GROUP) {
            int block = base + k / BLOCK * blockBytes;
            IntVector s = words(packed, block);
            int c = block + SCALE_BYTES + k % BLOCK * CODE_BYTES;
            FloatVector v = FloatVector.broadcast(FLOATS, x[k]);
            FloatVector ta = bytes(packed, c).mul(v), tb = bytes(packed, c + LANES).mul(v);
            v = FloatVector.broadcast(FLOATS, x[k + 1]);
            ta = bytes(packed, c + CODE_BYTES).fma(v, ta);
            tb = bytes(packed, c + CODE_BYTES + LANES).fma(v, tb);
            v = FloatVector.broadcast(FLOATS, x[k + 2]);
            ta = bytes(packed, c + 2 * CODE_BYTES).fma(v, ta);
            tb = bytes(packed, c + 2 * CODE_BYTES + LANES).fma(v, tb);
            v = FloatVector.broadcast(FLOATS, x[k + 3]);
            ta = bytes(packed, c + 3 * CODE_BYTES).fma(v, ta);
            tb = bytes(packed, c + 3 * CODE_BYTES + LANES).fma(v, tb);
            a = ta.fma(lowScales(s), a);
            b = tb.fma(highScales(s), b);
        }
        a.intoArray(y, at);
        b.intoArray(y, at + LANES);
    }

    // Q4, one row of one panel: two loads per vector and group, each two inputs' codes.
    private static void panelQ4(ByteBuffer packed, int base, int in, float[] x, float[] y, int at) {
        FloatVector a = FloatVector.zero(FLOATS), b = a;
        int blockBytes = QuantLayout.blockBytes(WeightFormat.Q4);
        for (int k = 0; k < in; k += GROUP) {
            int block = base + k / BLOCK * blockBytes;
            IntVector s = words(packed, block);
            int c = block + SCALE_BYTES + k % BLOCK / 2 * CODE_BYTES;
            IntVector qa = nibblePairs(packed, c), qb = nibblePairs(packed, c + LANES);
            FloatVector v = FloatVector.broadcast(FLOATS, x[k]);
            FloatVector ta = lowNibbles(qa).mul(v), tb = lowNibbles(qb).mul(v);
            v = FloatVector.broadcast(FLOATS, x[k + 1]);
            ta = highNibbles(qa).fma(v, ta);
            tb = highNibbles(qb).fma(v, tb);
            qa = nibblePairs(packed, c + CODE_BYTES);
            qb = nibblePairs(packed, c + CODE_BYTES + LANES);
            v = FloatVector.broadcast(FLOATS, x[k + 2]);
            ta = lowNibbles(qa).fma(v, ta);
            tb = lowNibbles(qb).fma(v, tb);
            v = FloatVector.broadcast(FLOATS, x[k + 3]);
            ta = highNibbles(qa).fma(v, ta);
            tb = highNibbles(qb).fma(v, tb);
            a = ta.fma(lowScales(s), a);
            b = tb.fma(highScales(s), b);
        }
        a.intoArray(y, at);
        b.intoArray(y, at + LANES);
    }

    // Q8, four rows of one vector of one panel (half 0: columns 0..LANES-1, half 1: the rest): a group's four code
    // vectors widened once for the four rows, each row's group summed as panelQ8 sums it; row r's input k lies at
    // xt[k * rows + r0 + r]. Written out flat: a loop over the group or the rows would carry vectors across a nested
    // loop, a helper per row was not inlined where C2 compiled it cold (and boxed the vectors), and both vectors of
    // four rows (as panelQ8 takes two) pass C2's inlining budget.
    private static void panelRowsQ8(ByteBuffer packed, int base, int half, int in, float[] xt, int rows, int r0,
                                    float[] y, int at, int stride) {
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
        int blockBytes = QuantLayout.blockBytes(WeightFormat.Q8);
        for (int k = 0; k < in; k += GROUP) {
            int block = base + k / BLOCK * blockBytes;
            int c = block + SCALE_BYTES + k % BLOCK * CODE_BYTES + half * LANES;
            FloatVector q0 = bytes(packed, c), q1 = bytes(packed, c + CODE_BYTES);
            FloatVector q2 = bytes(packed, c + 2 * CODE_BYTES), q3 = bytes(packed, c + 3 * CODE_BYTES);
            IntVector words = words(packed, block);
            FloatVector s = half == 0 ? lowScales(words) : highScales(words);
            int x = k * rows + r0;
            FloatVector t;
            t = q0.mul(xt[x]);
            t = q1.fma(FloatVector.broadcast(FLOATS, xt[x + rows]), t);
            t = q2.fma(FloatVector.broadcast(FLOATS, xt[x + 2 * rows]), t);
            t = q3.fma(FloatVector.broadcast(FLOATS, xt[x + 3 * rows]), t);
            a0 = t.fma(s, a0);
            t = q0.mul(xt[x + 1]);
            t = q1.fma(FloatVector.broadcast(FLOATS, xt[x + 1 + rows]), t);
            t = q2.fma(FloatVector.broadcast(FLOATS, xt[x + 1 + 2 * rows]), t);
            t = q3.fma(FloatVector.broadcast(FLOATS, xt[x + 1 + 3 * rows]), t);
            a1 = t.fma(s, a1);
            t = q0.mul(xt[x + 2]);
            t = q1.fma(FloatVector.broadcast(FLOATS, xt[x + 2 + rows]), t);
            t = q2.fma(FloatVector.broadcast(FLOATS, xt[x + 2 + 2 * rows]), t);
            t = q3.fma(FloatVector.broadcast(FLOATS, xt[x + 2 + 3 * rows]), t);
            a2 = t.fma(s, a2);
            t = q0.mul(xt[x + 3]);
            t = q1.fma(FloatVector.broadcast(FLOATS, xt[x + 3 + rows]), t);
            t = q2.fma(FloatVector.broadcast(FLOATS, xt[x + 3 + 2 * rows]), t);
            t = q3.fma(FloatVector.broadcast(FLOATS, xt[x + 3 + 3 * rows]), t);
            a3 = t.fma(s, a3);
        }
        a0.intoArray(y, at);
        a1.intoArray(y, at + stride);
        a2.intoArray(y, at + 2 * stride);
        a3.intoArray(y, at + 3 * stride);
    }

    // Q4, two rows of both vectors of one panel: a group's eight code vectors (two inputs' per load) widened once, then
    // each row's group sums as panelQ4 adds them.
    private static void panelRowsQ4(ByteBuffer packed, int base, int in, float[] xt, int rows, int r0, float[] y,
                                    int at, int stride) {
        FloatVector a0 = FloatVector.zero(FLOATS), b0 = a0, a1 = a0, b1 = a0;
        int blockBytes = QuantLayout.blockBytes(WeightFormat.Q4);
        for (int k = 0; k < in; k += GROUP) {
            int block = base + k / BLOCK * blockBytes;
            int c = block + SCALE_BYTES + k % BLOCK / 2 * CODE_BYTES;
            IntVector na = nibblePairs(packed, c), nb = nibblePairs(packed, c + LANES);
            IntVector nc = nibblePairs(packed, c + CODE_BYTES), nd = nibblePairs(packed, c + CODE_BYTES + LANES);
            FloatVector qa0 = lowNibbles(na), qb0 = lowNibbles(nb), qa1 = highNibbles(na), qb1 = highNibbles(nb);
            FloatVector qa2 = lowNibbles(nc), qb2 = lowNibbles(nd), qa3 = highNibbles(nc), qb3 = highNibbles(nd);
            IntVector s = words(packed, block);
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
        }
        a0.intoArray(y, at);
        b0.intoArray(y, at + LANES);
        a1.intoArray(y, at + stride);
        b1.intoArray(y, at + stride + LANES);
    }

    // Four rows of both vectors of a widened tile, inputs [k0, k1): each row's group summed as panelQ8 and panelQ4 sum
    // it, from floats already widened (codes[(k - k0) * 2 LANES + column], scales[(k - k0) / BLOCK * 2 LANES + column]),
    // onto the sums the earlier tiles left in y.
    private static void widenedRows(float[] codes, float[] scales, int k0, int k1, float[] xt, int rows, int r0,
                                    float[] y, int at, int stride) {
        FloatVector a0 = FloatVector.fromArray(FLOATS, y, at), b0 = FloatVector.fromArray(FLOATS, y, at + LANES);
        FloatVector a1 = FloatVector.fromArray(FLOATS, y, at + stride);
        FloatVector b1 = FloatVector.fromArray(FLOATS, y, at + stride + LANES);
        FloatVector a2 = FloatVector.fromArray(FLOATS, y, at + 2 * stride);
        FloatVector b2 = FloatVector.fromArray(FLOATS, y, at + 2 * stride + LANES);
        FloatVector a3 = FloatVector.fromArray(FLOATS, y, at + 3 * stride);
        FloatVector b3 = FloatVector.fromArray(FLOATS, y, at + 3 * stride + LANES);
        int width = QuantLayout.PANEL_COLUMNS;
        for (int k = k0; k < k1; k += GROUP) {
            int w = (k - k0) * width;
            int s = (k - k0) / BLOCK * width;
            FloatVector sa = FloatVector.fromArray(FLOATS, scales, s), sb = FloatVector.fromArray(FLOATS, scales, s + LANES);
            FloatVector qa0 = FloatVector.fromArray(FLOATS, codes, w);
            FloatVector qb0 = FloatVector.fromArray(FLOATS, codes, w + LANES);
            FloatVector qa1 = FloatVector.fromArray(FLOATS, codes, w + width);
            FloatVector qb1 = FloatVector.fromArray(FLOATS, codes, w + width + LANES);
            FloatVector qa2 = FloatVector.fromArray(FLOATS, codes, w + 2 * width);
            FloatVector qb2 = FloatVector.fromArray(FLOATS, codes, w + 2 * width + LANES);
            FloatVector qa3 = FloatVector.fromArray(FLOATS, codes, w + 3 * width);
            FloatVector qb3 = FloatVector.fromArray(FLOATS, codes, w + 3 * width + LANES);
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
