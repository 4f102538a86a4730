package io.flexiserve.model;

import ai.djl.ndarray.NDArray;

/** A bias-free linear layer with the HF {@code [out, in]} weight layout: {@code y = x W^T}. */
final class Linear {

    final NDArray weight; // (out, in)

    Linear(NDArray weight) {
        this.weight = weight;
    }

    /** x: (N, in) -> (N, out). libtorch's {@code linear} is the fast path for both f32 and f16 (DJL-NOTES 6). */
    NDArray forward(NDArray x) {
        return x.getNDArrayInternal().linear(x, weight, null).singletonOrThrow();
    }

    long outFeatures() {
        return weight.getShape().get(0);
    }
}
