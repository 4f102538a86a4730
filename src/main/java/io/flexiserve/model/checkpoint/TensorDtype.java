package io.flexiserve.model.checkpoint;

import ai.djl.ndarray.types.DataType;

/** The safetensors element types FlexiServe reads and writes. DJL 0.36 has no bf16 tensor: BF16 is widened in Java. */
public enum TensorDtype {
    F32(4, DataType.FLOAT32),
    F16(2, DataType.FLOAT16),
    BF16(2, null);

    private final int bytes;
    private final DataType djlType;

    TensorDtype(int bytes, DataType djlType) {
        this.bytes = bytes;
        this.djlType = djlType;
    }

    public int bytes() {
        return bytes;
    }

    /** The DJL type a buffer of this dtype can be wrapped as, or null when it must be converted first. */
    DataType djlType() {
        return djlType;
    }

    /** bf16 bits to the float of the same value: the top half of an f32. */
    public static float bf16ToFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xffff) << 16);
    }

    /** IEEE f16 bits to the float of the same value (subnormals, infinities and NaN included). */
    public static float halfToFloat(short half) {
        int sign = (half & 0x8000) << 16;
        int exponent = (half >>> 10) & 0x1F;
        int mantissa = half & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | mantissa << 13);
        }
        if (exponent == 0) {
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | (exponent + 112) << 23 | mantissa << 13);
    }

    /** Parses a safetensors dtype name; null when it is not one of ours. */
    static TensorDtype parse(String name) {
        for (TensorDtype d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }
}
