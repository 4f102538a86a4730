package io.flexiserve.model.cpu;

import static io.flexiserve.model.cpu.PanelLayout.INTS;
import static io.flexiserve.model.cpu.PanelLayout.LANES;

import io.flexiserve.model.checkpoint.TensorDtype;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * How {@link VectorGemm} stores a weight quantized to 8 or 4 bits ({@link WeightFormat#Q8}, {@link WeightFormat#Q4})
 * for {@link QuantKernels}, and how a kernel widens it back to f32.
 *
 * <p>Blocks. Each output column's weights are cut along the input into blocks ({@link #block}: Q8 64 inputs, Q4 32);
 * a block stores one scale {@code s} (a bf16, rounded away from zero) and a signed integer {@code q} per weight, and
 * the weight is {@code q * s}, which f32 holds exactly (at most 8 significant bits times 8). Q8 takes
 * {@code s = max|w| / 127} and {@code q} in [-127, 127]; Q4 takes {@code s = m / -8}, {@code m} the block's weight of
 * largest magnitude, and {@code q} in [-8, 7]: llama.cpp's Q8_0 and Q4_0 rules, though not their bytes (a bf16 scale
 * rounded away from zero, the panel layout below, and Q8's block twice Q8_0's). Bytes per weight: 1 + 2/64 and
 * 0.5 + 2/32. Q8's block is 64 because an AMX product sums 64 bytes of input at the cost of 32 (docs/djl-traps.md,
 * trap 25), so a block of 64 halves a prompt's tile work, and a decode step reads 3% fewer bytes; an 8-bit code
 * has the resolution to spare (BENCHMARKS.md, "Q8 in blocks of 64"). Q4 keeps 32: a 4-bit block's rounding grows
 * with its largest weight.
 *
 * <p>Layout. Columns come in pairs of {@link PanelLayout} panels ({@link #PAIR}, {@code 4 LANES} columns: the unit
 * {@link VectorGemm} hands out), stored one panel after the other; a panel ({@code 2 LANES} columns, which a kernel
 * sums as two vectors, columns {@code [0, LANES)} and {@code [LANES, 2 LANES)}) block after block; a block as its
 * scales ({@code LANES} 32-bit words, word {@code j} holding the bf16 scales of columns {@code j} and
 * {@code LANES + j} in its low and high halves), then its codes, {@link #GROUP} inputs at a time, as vectors of
 * {@code LANES} 32-bit words, word {@code j} for column {@code j} of the vector: Q8 stores two vectors a group, one per
 * half of the panel, input {@code k + i}'s code in byte {@code i} of its column's word; Q4 stores one, column
 * {@code j}'s four codes in the low half of word {@code j} (input {@code k + i} in nibble {@code i}) and column
 * {@code LANES + j}'s in the high half (nibble {@code 4 + i}).
 *
 * <p>Widening: a kernel reads a group's codes a vector of words at a time and takes code {@code i} out of every lane
 * with two shifts, left to put it at the top of the lane and arithmetic right to bring it back with its sign, then
 * converts the ints to floats. Each vector read from a {@link ByteBuffer} costs about a dozen scalar instructions
 * besides the load (C2 reloads and checks the buffer's limit, base and address for every read: docs/djl-traps.md,
 * trap 20), so the codes are laid out to be read 64 or 128 to a load rather than 16 to a load of bytes. The scale is
 * not applied per weight: {@link QuantKernels} sums a group's products of codes first.
 */
final class QuantLayout {

    /** Input indices per scale of a {@link WeightFormat#Q8} weight. */
    static final int Q8_BLOCK = 64;
    /** Input indices per scale of a {@link WeightFormat#Q4} weight. */
    static final int Q4_BLOCK = 32;
    /** Input indices whose codes share a word (and whose products a kernel sums before scaling them). */
    static final int GROUP = 4;
    /** Columns per pair of panels. */
    static final int PAIR = 4 * LANES;
    /** Columns per panel, read as two vectors. */
    static final int PANEL_COLUMNS = 2 * LANES;
    /** Bytes of one block's scales in a panel: a bf16 per column. */
    static final int SCALE_BYTES = PANEL_COLUMNS * Short.BYTES;
    /** Bytes of one vector of {@code LANES} 32-bit words. */
    static final int VECTOR_BYTES = LANES * Integer.BYTES;
    /** Bytes of one group's Q8 codes: two vectors of words. */
    static final int Q8_GROUP_BYTES = 2 * VECTOR_BYTES;
    /** Bytes of one group's Q4 codes: one vector of words. */
    static final int Q4_GROUP_BYTES = VECTOR_BYTES;

    static final ByteOrder ORDER = PanelLayout.ORDER;

    private QuantLayout() {
    }

    /** Input indices per scale of a quantized format (the native kernels' {@code fs_block} says the same). */
    static int block(WeightFormat format) {
        return switch (format) {
            case Q8 -> Q8_BLOCK;
            case Q4 -> Q4_BLOCK;
            default -> throw new IllegalArgumentException(format.label() + " is not quantized");
        };
    }

    /** Bytes of one block of one panel: its scales and its codes. */
    static int blockBytes(WeightFormat format) {
        return SCALE_BYTES + block(format) * PANEL_COLUMNS * format.bits() / 8;
    }

    /** Bytes of one panel over the whole input. */
    static long panelBytes(WeightFormat format, int in) {
        return (long) (in / block(format)) * blockBytes(format);
    }

    /** Bytes of one pair of panels ({@link #PAIR} columns) over the whole input. */
    static long pairBytes(WeightFormat format, int in) {
        return 2 * panelBytes(format, in);
    }

    static long packedBytes(WeightFormat format, int out, int in) {
        return PanelLayout.panels(out) / 2 * pairBytes(format, in);
    }

    /**
     * Quantizes f16 bits {@code w} ({@code out x in}, row-major) into {@code dst} ({@link #packedBytes} long); columns
     * past {@code out} are zeros.
     */
    static void pack(WeightFormat format, ShortBuffer w, int out, int in, ByteBuffer dst) {
        int pairs = PanelLayout.panels(out) / 2;
        GemmHelpers helpers = GemmHelpers.shared();
        int parts = Math.min(helpers.threads(), pairs);
        helpers.run(parts, part -> packPairs(format, w.duplicate(), out, in, dst.duplicate().order(ORDER),
                pairs * part / parts, pairs * (part + 1) / parts)); // the pairs are independent: split over the cores
    }

    private static void packPairs(WeightFormat format, ShortBuffer w, int out, int in, ByteBuffer d, int pair0,
                                  int pair1) {
        int block = block(format);
        int blocks = in / block;
        float[][] columns = new float[PAIR][in];
        short[] row = new short[in];
        float[] scales = new float[PANEL_COLUMNS];
        int[][] codes = new int[PANEL_COLUMNS][block];
        for (int p = pair0; p < pair1; p++) {
            for (int c = 0; c < PAIR; c++) {
                int col = p * PAIR + c;
                if (col < out) {
                    w.get(col * in, row);
                    for (int k = 0; k < in; k++) {
                        columns[c][k] = TensorDtype.halfToFloat(row[k]);
                    }
                } else {
                    java.util.Arrays.fill(columns[c], 0f);
                }
            }
            for (int panel = 0; panel < 2; panel++) {
                long panelAt = p * pairBytes(format, in) + panel * panelBytes(format, in);
                for (int b = 0; b < blocks; b++) {
                    for (int c = 0; c < PANEL_COLUMNS; c++) {
                        scales[c] = quantize(format, columns[panel * PANEL_COLUMNS + c], b * block, codes[c]);
                    }
                    writeBlock(format, scales, codes, d, (int) (panelAt + (long) b * blockBytes(format)));
                }
            }
        }
    }

    /** One column's block from {@code from}: its codes into {@code q}, and its scale (0 for a block of zeros). */
    static float quantize(WeightFormat format, float[] w, int from, int[] q) {
        int block = block(format);
        float extreme = 0; // Q8: the largest magnitude; Q4: the weight of largest magnitude, with its sign
        for (int k = 0; k < block; k++) {
            if (Math.abs(w[from + k]) > Math.abs(extreme)) {
                extreme = w[from + k];
            }
        }
        float scale = bf16AwayFromZero(format == WeightFormat.Q8 ? Math.abs(extreme) / 127 : extreme / -8);
        if (Math.abs(scale) < 0x1p-100f) { // nothing to keep (and no subnormal products)
            java.util.Arrays.fill(q, 0);
            return 0;
        }
        int min = format == WeightFormat.Q8 ? -127 : -8;
        int max = format == WeightFormat.Q8 ? 127 : 7;
        for (int k = 0; k < block; k++) {
            q[k] = Math.max(min, Math.min(max, Math.round(w[from + k] / scale)));
        }
        return scale;
    }

    private static void writeBlock(WeightFormat format, float[] scales, int[][] codes, ByteBuffer d, int at) {
        for (int j = 0; j < LANES; j++) {
            d.putInt(at + j * Integer.BYTES, bf16(scales[j]) | bf16(scales[LANES + j]) << 16);
        }
        int codesAt = at + SCALE_BYTES;
        int bits = format.bits();
        int mask = (1 << bits) - 1;
        for (int g = 0; g < block(format) / GROUP; g++) {
            for (int j = 0; j < LANES; j++) {
                int a = 0; // column j's codes of the group's inputs
                int b = 0; // column LANES + j's
                for (int i = 0; i < GROUP; i++) {
                    a |= (codes[j][GROUP * g + i] & mask) << bits * i;
                    b |= (codes[LANES + j][GROUP * g + i] & mask) << bits * i;
                }
                if (format == WeightFormat.Q8) {
                    int group = codesAt + g * Q8_GROUP_BYTES + j * Integer.BYTES;
                    d.putInt(group, a);
                    d.putInt(group + VECTOR_BYTES, b);
                } else {
                    d.putInt(codesAt + g * Q4_GROUP_BYTES + j * Integer.BYTES, a | b << 16);
                }
            }
        }
    }

    /** {@code value} rounded to a bf16 (8 significant bits) away from zero, so that no code leaves its range. */
    static float bf16AwayFromZero(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0xFFFF) != 0) {
            bits += 0x10000; // the magnitude's bits, carried into the exponent when they overflow
        }
        return Float.intBitsToFloat(bits & 0xFFFF0000);
    }

    private static int bf16(float value) {
        return Float.floatToRawIntBits(value) >>> 16;
    }

    static IntVector words(ByteBuffer packed, int offset) {
        return IntVector.fromByteBuffer(INTS, packed, offset, ORDER);
    }

    /**
     * The codes that shifting every word left by {@code left} bits puts at its top, as floats: the word shifted back
     * right by {@code right} bits (32 minus the format's bits), arithmetically, so the sign comes with it.
     */
    static FloatVector code(IntVector words, int left, int right) {
        return (FloatVector) words.lanewise(VectorOperators.LSHL, left).lanewise(VectorOperators.ASHR, right)
                .convertShape(VectorOperators.I2F, PanelLayout.FLOATS, 0);
    }

    /** Bytes of one group's codes. */
    static int groupBytes(WeightFormat format) {
        return format == WeightFormat.Q8 ? Q8_GROUP_BYTES : Q4_GROUP_BYTES;
    }

    /** Where a group's words for columns {@code [LANES, 2 LANES)} lie, in bytes after those for the first columns. */
    static int secondVector(WeightFormat format) {
        return format == WeightFormat.Q8 ? VECTOR_BYTES : 0;
    }

    /** How many bits above column {@code j}'s codes in its word column {@code LANES + j}'s lie in theirs. */
    static int above(WeightFormat format) {
        return format == WeightFormat.Q8 ? 0 : Short.SIZE;
    }

    /** The scales in the low halves of a vector of words. */
    static FloatVector lowScales(IntVector words) {
        return words.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** The scales in the high halves of a vector of words. */
    static FloatVector highScales(IntVector words) {
        return words.and(0xFFFF0000).reinterpretAsFloats();
    }
}
