package io.flexiserve.model.cpu;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * How {@link VectorGemm} stores an f16 weight for its Java kernels ({@link PanelKernels}, {@link RowKernel}), and
 * how a kernel widens what it reads back to f32.
 *
 * <p>Layout. The weight's output columns are cut into panels of {@link #PANEL} (two vectors); a panel stores, for
 * each input index {@code k}, its {@code PANEL} weights as {@code LANES} 32-bit words, word {@code j} holding column
 * {@code j} in its low half and column {@code LANES + j} in its high half. A kernel walks a panel from {@code k = 0}
 * to {@code in}, reading it strictly sequentially, and walks two neighbouring panels at once (two memory streams
 * per core), so the panels come in pairs: the last pair is padded with zero columns. (A kernel for a lone panel ran
 * too rarely for C2 to compile it with the Vector API's intrinsics, and so ran boxed, for the router's one-column
 * head in every routed layer.)
 *
 * <p>Halves, re-biased. The Vector API of JDK 17 has no f16 conversion, so a kernel shifts each 16-bit code into
 * bits 13..27 of a float ({@link #low}, {@link #high}: three integer operations, sign kept): the code's 5-bit
 * exponent becomes the float's, which gives the weight times {@code 2^-(127 - bias)}, and powers of two undo that
 * exactly ({@link Packing#rowScale()}, applied to the input and to the sums). With IEEE f16's bias of 15, an f16 subnormal (a weight under
 * {@code 6.1e-5} in magnitude: about 0.25% of an N(0, 0.02) matrix, and so in one of every ten or so vectors)
 * widens to a subnormal float, and on Intel cores every multiply or FMA that reads a subnormal takes a microcode
 * assist, some 25x slower (BENCHMARKS.md, "What limits these figures", item "Subnormal weights on Intel cores"; AMD's
 * cores have no such penalty). So a weight whose magnitudes all stay below 128 (every trained projection) is stored
 * with exponent bias 25 instead: the same 10-bit mantissa, every f16 subnormal becomes a normal code, and every
 * value widens exactly to a normal float or to zero. Any other weight keeps IEEE f16 bits (bias 15): exact, slower
 * where it holds subnormals. f16 infinities and NaNs are not preserved (weights have none).
 */
public final class PanelLayout {

    public static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    static final int LANES = FLOATS.length();
    static final int PANEL = 2 * LANES;

    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    private static final int KEEP_LOW = 0x8FFFFFFF; // sign, and the half's 15 bits with what lies below
    private static final int KEEP_HIGH = 0x8FFFE000; // as KEEP_LOW, without the other half's leftover bits

    /** The exponent bias of re-biased codes: f16's 15 plus 10, so that 2^-24, f16's least subnormal, is normal. */
    static final int REBIASED = 25;
    private static final int IEEE_HALF = 15;
    private static final int REBIASED_MAX_EXPONENT = 31 - (REBIASED - IEEE_HALF); // f16 exponent field up to 21: < 128

    private PanelLayout() {
    }

    /**
     * How a weight was packed: its exponent bias, and {@code rowScale}, the square root of the {@code 2^(127 - bias)}
     * that turns widened codes into weights, by which the kernels scale their input and their sums.
     */
    record Packing(int bias, float rowScale) {

        static Packing of(int bias) {
            return new Packing(bias, Math.scalb(1f, (127 - bias) / 2));
        }
    }

    /** Panels of an {@code out}-column weight: whole pairs of them. */
    static int panels(int out) {
        return (out + 2 * PANEL - 1) / (2 * PANEL) * 2;
    }

    /** The row stride of a product's output: the output columns rounded up to whole panels. */
    static int stride(int out) {
        return panels(out) * PANEL;
    }

    /** Bytes of the packed form of an {@code (out, in)} f16 weight (the last pair of panels padded with zeros). */
    static long packedBytes(int out, int in) {
        return (long) stride(out) * in * Short.BYTES;
    }

    /**
     * Packs f16 bits {@code w} ({@code out x in}, row-major) into {@code dst} ({@link #packedBytes} long), re-biased
     * when every magnitude is below 128.
     */
    static Packing pack(ShortBuffer w, int out, int in, ByteBuffer dst) {
        short[] row = new short[in];
        boolean rebias = true;
        for (int col = 0; col < out && rebias; col++) {
            w.get(col * in, row);
            for (short bits : row) {
                rebias &= ((bits >>> 10) & 0x1F) <= REBIASED_MAX_EXPONENT;
            }
        }
        ShortBuffer d = dst.duplicate().order(ORDER).asShortBuffer();
        short[] panel = new short[PANEL * in];
        for (int p = 0; p < panels(out); p++) {
            for (int c = 0; c < PANEL; c++) {
                int col = p * PANEL + c;
                int slot = c < LANES ? 2 * c : 2 * (c - LANES) + 1; // low half, then high half, of word c % LANES
                if (col < out) {
                    w.get(col * in, row);
                } else {
                    Arrays.fill(row, (short) 0);
                }
                for (int k = 0; k < in; k++) {
                    panel[k * PANEL + slot] = rebias ? rebiased(row[k]) : row[k];
                }
            }
            d.put(p * PANEL * in, panel);
        }
        return Packing.of(rebias ? REBIASED : IEEE_HALF);
    }

    /** The re-biased code of an f16 value whose exponent field is at most 21: the same value, never subnormal. */
    static short rebiased(short half) {
        int sign = half & 0x8000;
        int exponent = (half >>> 10) & 0x1F;
        int mantissa = half & 0x3FF;
        if (exponent != 0) {
            return (short) (sign | (exponent + REBIASED - IEEE_HALF) << 10 | mantissa);
        }
        if (mantissa == 0) {
            return (short) sign;
        }
        // mantissa * 2^-24 = 2^(top - 24) * 1.fraction, top being the mantissa's highest set bit (0..9)
        int top = 31 - Integer.numberOfLeadingZeros(mantissa);
        return (short) (sign | (top + 1) << 10 | (mantissa << (10 - top)) & 0x3FF);
    }

    static IntVector words(ByteBuffer packed, int offset) {
        return IntVector.fromByteBuffer(INTS, packed, offset, ORDER);
    }

    /** The low halves of a vector of words, widened: weights times {@code 2^-(127 - bias)}. */
    static FloatVector low(IntVector words) {
        return words.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(KEEP_LOW)
                .reinterpretAsFloats();
    }

    /** The high halves of a vector of words, widened as {@link #low}. */
    static FloatVector high(IntVector words) {
        return words.lanewise(VectorOperators.ASHR, 3).and(KEEP_HIGH).reinterpretAsFloats();
    }
}
