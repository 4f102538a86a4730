package io.flexiserve.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** Memory read bandwidth as libtorch sees it: the best of several full reductions over a 1 GiB tensor. */
final class Bandwidth {

    private static final long ELEMENTS = 256L * 1024 * 1024; // 1 GiB of f32

    private Bandwidth() {
    }

    /** Bytes per second. */
    static double measure() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray data = manager.ones(new Shape(ELEMENTS), DataType.FLOAT32);
            double best = 0;
            for (int i = 0; i < 6; i++) {
                long start = System.nanoTime();
                try (NDArray sum = data.sum()) {
                    sum.getFloat();
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                best = Math.max(best, ELEMENTS * 4 / seconds);
            }
            return best;
        }
    }
}
