package io.flexiserve.model.checkpoint;

import java.util.Arrays;

/**
 * One tensor's entry in a safetensors header.
 *
 * @param begin offset of its first byte, relative to the start of the data section
 * @param end   offset one past its last byte, relative to the start of the data section
 */
public record TensorInfo(String name, TensorDtype dtype, long[] shape, long begin, long end) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
