package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** A bias-free linear layer with the HF {@code [out, in]} weight layout: {@code y = x W^T}. */
final class Linear {

    final NDArray weight; // (out, in)

    Linear(NDArray weight) {
        this.weight = weight;
    }

    /**
     * x: (N, in) -> (N, out), in x's dtype. libtorch's {@code linear} is the fast path for both f32 and f16
     * (DJL-NOTES 6); f16 weights under f32 activations are applied to an f16 copy of x.
     */
    NDArray forward(NDArray x) {
        DataType weightType = weight.getDataType();
        if (x.getDataType() == weightType) {
            return x.getNDArrayInternal().linear(x, weight, null).singletonOrThrow();
        }
        NDArray cast = x.toType(weightType, false);
        return cast.getNDArrayInternal().linear(cast, weight, null).singletonOrThrow().toType(x.getDataType(), false);
    }

    long outFeatures() {
        return weight.getShape().get(0);
    }
}
