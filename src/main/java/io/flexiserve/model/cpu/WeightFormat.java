package io.flexiserve.model.cpu;

/**
 * How a CPU projection's weight is stored for the Java kernels ({@link VectorGemm}): f16 packed into panels
 * ({@link PanelLayout}), or quantized to 8 or 4 bits per weight with a scale per block ({@link QuantLayout}).
 */
public enum WeightFormat {
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
        return this == F16 ? Short.BYTES : bits / 8.0 + (double) Short.BYTES / QuantLayout.BLOCK;
    }

    /** The configuration name: {@code f16}, {@code q8}, {@code q4}. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
