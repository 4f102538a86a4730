package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** RMSNorm as HF computes it: statistics in fp32, {@code x * rsqrt(mean(x^2) + eps)}, cast back, times weight. */
final class RmsNorm {

    private static final int[] LAST_AXIS = {-1};

    final NDArray weight; // (D) or (R) for the router's norm
    private final float eps;

    RmsNorm(NDArray weight, double eps) {
        this.weight = weight;
        this.eps = (float) eps;
    }

    float eps() {
        return eps;
    }

    /**
     * x: (N, D) -> (N, D), in x's dtype. Divides by the RMS rather than raising to -0.5: DJL's pow(Number) frees
     * its exponent tensor right after the op, which autograd still needs for training's backward pass.
     */
    NDArray forward(NDArray x) {
        NDArray xf = x.toType(DataType.FLOAT32, false);
        NDArray rms = xf.square().mean(LAST_AXIS, true).add(eps).sqrt(); // (N, 1)
        return xf.div(rms).toType(x.getDataType(), false).mul(weight);
    }
}
