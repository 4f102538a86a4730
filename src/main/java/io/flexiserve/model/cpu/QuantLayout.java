package io.flexiserve.model.cpu;

import static io.flexiserve.model.cpu.PanelLayout.INTS;
import static io.flexiserve.model.cpu.PanelLayout.LANES;

import io.flexiserve.model.checkpoint.TensorDtype;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * How {@link VectorGemm} stores a weight quantized to 8 or 4 bits ({@link WeightFormat#Q8}, {@link WeightFormat#Q4})
 * for {@link QuantKernels}, and how a kernel widens it back to f32.
 *
 * <p>Blocks. Each output column's weights are cut along the input into blocks of {@link #BLOCK}; a block stores one
 * scale {@code s} (a bf16, rounded away from zero) and a signed integer {@code q} per weight, and the weight is
 * {@code q * s}, which f32 holds exactly (at most 8 significant bits times 8). Q8 takes {@code s = max|w| / 127}
 * and {@code q} in [-127, 127]; Q4 takes {@code s = m / -8}, {@code m} the block's weight of largest magnitude,
 * and {@code q} in [-8, 7]: llama.cpp's Q8_0 and Q4_0 rules, though not their bytes (a bf16 scale rounded away
 * from zero, and the panel layout below). Bytes per weight: 1 + 2/32 and 0.5 + 2/32.
 *
 * <p>Layout. Columns come in pairs of {@link PanelLayout} panels ({@link #PAIR}, {@code 4 LANES} columns: the unit
 * {@link VectorGemm} hands out), stored one panel after the other; a panel ({@code 2 LANES} columns, which a kernel
 * reads as two vectors) block after block; a block as its scales ({@code LANES} 32-bit words, word {@code j} holding
 * the bf16 scales of columns {@code j} and {@code LANES + j} in its low and high halves), then its codes,
 * {@link #CODE_BYTES} bytes per load, byte {@code c} for column {@code c}: for Q8 one input per load, the code a
 * signed byte; for Q4 two inputs per load, input {@code k} (even) in the low nibble and {@code k + 1} in the high,
 * each a signed nibble.
 *
 * <p>Widening: a kernel loads a vector's {@code LANES} bytes and sign-extends them to 32-bit lanes in one
 * conversion (a Q4 byte's low nibble is then shifted to the top of its lane and back, its high nibble shifted down:
 * arithmetic shifts, so the sign comes with them), then converts them to float. The scale is not applied per
 * weight: {@link QuantKernels} sums a few inputs' products of codes first.
 */
final class QuantLayout {

    /** Input indices per scale. */
    static final int BLOCK = 32;
    /** Columns per pair of panels. */
    static final int PAIR = 4 * LANES;
    /** Columns per panel, read as two vectors. */
    static final int PANEL_COLUMNS = 2 * LANES;
    /** Bytes of one block's scales in a panel: a bf16 per column. */
    static final int SCALE_BYTES = PANEL_COLUMNS * Short.BYTES;
    /** Bytes of one load of codes: a byte per column of a panel. */
    static final int CODE_BYTES = PANEL_COLUMNS;
    /** The bytes a kernel widens into one vector. */
    static final VectorSpecies<Byte> CODES = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * Byte.SIZE));

    static final ByteOrder ORDER = PanelLayout.ORDER;

    private QuantLayout() {
    }

    /** Bytes of one block of one panel: its scales and its codes. */
    static int blockBytes(WeightFormat format) {
        return SCALE_BYTES + BLOCK * PANEL_COLUMNS * format.bits() / 8;
    }

    /** Bytes of one panel over the whole input. */
    static long panelBytes(WeightFormat format, int in) {
        return (long) (in / BLOCK) * blockBytes(format);
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
        int blocks = in / BLOCK;
        float[][] columns = new float[PAIR][in];
        short[] row = new short[in];
        float[] scales = new float[PANEL_COLUMNS];
        int[][] codes = new int[PANEL_COLUMNS][BLOCK];
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
                        scales[c] = quantize(format, columns[panel * PANEL_COLUMNS + c], b * BLOCK, codes[c]);
                    }
                    writeBlock(format, scales, codes, d, (int) (panelAt + (long) b * blockBytes(format)));
                }
            }
        }
    }

    /** One column's block from {@code from}: its codes into {@code q}, and its scale (0 for a block of zeros). */
    static float quantize(WeightFormat format, float[] w, int from, int[] q) {
        float extreme = 0; // Q8: the largest magnitude; Q4: the weight of largest magnitude, with its sign
        for (int k = 0; k < BLOCK; k++) {
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
        for (int k = 0; k < BLOCK; k++) {
            q[k] = Math.max(min, Math.min(max, Math.round(w[from + k] / scale)));
        }
        return scale;
    }

    private static void writeBlock(WeightFormat format, float[] scales, int[][] codes, ByteBuffer d, int at) {
        for (int j = 0; j < LANES; j++) {
            d.putInt(at + j * Integer.BYTES, bf16(scales[j]) | bf16(scales[LANES + j]) << 16);
        }
        int codesAt = at + SCALE_BYTES;
        for (int load = 0; load < BLOCK * format.bits() / 8; load++) {
            for (int c = 0; c < PANEL_COLUMNS; c++) {
                int code = format == WeightFormat.Q8
                        ? codes[c][load]
                        : codes[c][2 * load] & 0xF | codes[c][2 * load + 1] << 4; // k low, k + 1 high
                d.put(codesAt + load * CODE_BYTES + c, (byte) code);
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

    /** The scales in the low halves of a vector of words. */
    static FloatVector lowScales(IntVector words) {
        return words.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** The scales in the high halves of a vector of words. */
    static FloatVector highScales(IntVector words) {
        return words.and(0xFFFF0000).reinterpretAsFloats();
    }

    /** The {@code LANES} signed bytes at {@code offset}, as floats. */
    static FloatVector bytes(ByteBuffer packed, int offset) {
        return (FloatVector) ByteVector.fromByteBuffer(CODES, packed, offset, ORDER)
                .convertShape(VectorOperators.B2F, PanelLayout.FLOATS, 0);
    }

    /** The {@code LANES} signed bytes at {@code offset}, as ints (each a Q4 load's two codes, see below). */
    static IntVector nibblePairs(ByteBuffer packed, int offset) {
        return (IntVector) ByteVector.fromByteBuffer(CODES, packed, offset, ORDER)
                .convertShape(VectorOperators.B2I, INTS, 0);
    }

    /** The codes in the low nibbles of sign-extended bytes, as floats. */
    static FloatVector lowNibbles(IntVector bytes) {
        return (FloatVector) bytes.lanewise(VectorOperators.LSHL, 28).lanewise(VectorOperators.ASHR, 28)
                .convertShape(VectorOperators.I2F, PanelLayout.FLOATS, 0);
    }

    /** The codes in the high nibbles of sign-extended bytes, as floats. */
    static FloatVector highNibbles(IntVector bytes) {
        return (FloatVector) bytes.lanewise(VectorOperators.ASHR, 4)
                .convertShape(VectorOperators.I2F, PanelLayout.FLOATS, 0);
    }
}
