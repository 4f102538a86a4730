package io.flexiserve.model;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;

/**
 * How to load a checkpoint.
 *
 * @param device                where weights and the KV cache live
 * @param dtype                 compute dtype, FLOAT32 or FLOAT16 (bf16 weights are converted)
 * @param maxPositions          longest sequence to prepare RoPE tables for; 0 means max_position_embeddings
 * @param premultiplyRouterHead replace {@code W_head W_dec} by their product (faster, not bit-identical)
 */
public record ModelOptions(Device device, DataType dtype, int maxPositions, boolean premultiplyRouterHead) {

    public ModelOptions {
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16) {
            throw new IllegalArgumentException("compute dtype must be float32 or float16, not " + dtype);
        }
    }

    /** f32 on the CPU, full context, exact router. */
    public static ModelOptions cpu() {
        return new ModelOptions(Device.cpu(), DataType.FLOAT32, 0, false);
    }
}
