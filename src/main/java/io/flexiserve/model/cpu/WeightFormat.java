package io.flexiserve.model.cpu;

/**
 * How a CPU weight is stored for the Java kernels ({@link VectorGemm}): f16 packed into panels
 * ({@link PanelLayout}), quantized to 8 or 4 bits per weight with a scale per block ({@link QuantLayout}), or, for the
 * routers and adapters, f32 panels ({@link FloatPanels}).
 */
public enum WeightFormat {
    F32(32),
    F16(16),
    Q8(8),
    Q4(4);

    private final int bits;

    WeightFormat(int bits) {
        this.bits = bits;
    }

    /** Bits per weight, scales not counted. */
    int bits() {
        return bits;
    }

    /** Bytes per weight with the format's scales, for memory estimates and rooflines. */
    public double bytesPerWeight() {
        return quantized() ? bits / 8.0 + (double) Short.BYTES / QuantLayout.block(this) : bits / 8.0;
    }

    /** Whether weights are stored as codes and scales. */
    boolean quantized() {
        return this == Q8 || this == Q4;
    }

    /** The name in messages and configuration: {@code f32}, {@code f16}, {@code q8}, {@code q4}. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
