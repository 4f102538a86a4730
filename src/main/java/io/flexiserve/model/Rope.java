package io.flexiserve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding in HF's "rotate_half" convention (dimension i pairs with i + Dh/2):
 * {@code x' = x cos(p f) + rotate_half(x) sin(p f)}, {@code rotate_half([x1, x2]) = [-x2, x1]}. Tables are
 * computed once in float32 as HF does (optionally with llama3 frequency scaling) and cast to the compute
 * dtype.
 */
final class Rope {

    private final NDArray cosTable; // (P, Dh)
    private final NDArray sinTable; // (P, Dh)
    private final NDIndex firstHalf;
    private final NDIndex secondHalf;

    Rope(NDManager manager, ModelConfig config, int maxPositions, DataType dtype) {
        int dh = config.headDim();
        int half = dh / 2;
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = (float) (1.0 / Math.pow(config.ropeTheta(), (float) (2 * i) / dh));
            if (config.ropeScaling() != null) {
                invFreq[i] = config.ropeScaling().apply(invFreq[i]);
            }
        }
        float[] cos = new float[maxPositions * dh];
        float[] sin = new float[maxPositions * dh];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                float angle = p * invFreq[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[p * dh + i] = c;
                cos[p * dh + half + i] = c;
                sin[p * dh + i] = s;
                sin[p * dh + half + i] = s;
            }
        }
        Shape shape = new Shape(maxPositions, dh);
        this.cosTable = manager.create(cos, shape).toType(dtype, false);
        this.sinTable = manager.create(sin, shape).toType(dtype, false);
        this.firstHalf = new NDIndex(":, :, :{}", half);
        this.secondHalf = new NDIndex(":, :, {}:", half);
    }

    int maxPositions() {
        return (int) cosTable.getShape().get(0);
    }

    /** The cos and sin rows for the given positions: positions (N) -> (N, 1, Dh) each, ready to broadcast over heads. */
    Angles at(NDArray positions) {
        return new Angles(cosTable.get(positions).expandDims(1), sinTable.get(positions).expandDims(1));
    }

    /** Rotates x: (N, heads, Dh) by the angles of its rows. */
    NDArray apply(NDArray x, Angles angles) {
        NDArray rotated = x.get(secondHalf).neg().concat(x.get(firstHalf), -1);
        return x.mul(angles.cos()).add(rotated.mul(angles.sin()));
    }

    /** cos and sin for a set of rows, (N, 1, Dh) each. */
    record Angles(NDArray cos, NDArray sin) {

        Angles select(NDArray rows) {
            return new Angles(cos.get(rows), sin.get(rows));
        }
    }
}
